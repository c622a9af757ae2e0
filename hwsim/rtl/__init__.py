"""RTL verification helpers: TestFloat-style vectors (:mod:`hwsim.rtl.vectors`), exact
scalar IEEE operations with flags and NaN policies (:mod:`hwsim.rtl.ieee`) and
``hwsim.export`` (:mod:`hwsim.rtl.golden`).  See docs/rtl.md."""
