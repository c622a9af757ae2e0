"""Dask back end of :func:`.runner.run_configs` (``pip install hwsim[sweep]``).

A local cluster of worker processes (``LocalCluster``, one thread each) by
default, or an existing scheduler's address.  The network (calibrated), the data
and the float reference are scattered once to every worker; each configuration
is one task.  Rows are cached by the client as each task finishes, so a run cut
short (killed worker, lost scheduler) resumes from the cache.  Dask itself reruns
the tasks of a worker that dies (``distributed.scheduler.allowed-failures``);
results are the same as serial ones because a configuration's row depends only on
the configuration, the network and the data.
"""
from __future__ import annotations

from ...errors import UsageError

__all__ = ["run_on_dask", "open_client", "WorkerKiller"]


def _task(net, cfg, x, y, ref):
    import copy

    from .metrics import eval_config

    return eval_config(copy.copy(net), cfg, x, y, ref)


def open_client(scheduler=None, workers=2):
    """(client, cluster or None): a client of ``scheduler`` or of a new LocalCluster."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise UsageError("--dask needs dask.distributed: pip install 'hwsim[sweep]'") from None
    if scheduler:
        return Client(scheduler, timeout="30s"), None
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise UsageError(f"--workers must be an integer >= 1, got {workers!r}")
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                           dashboard_address=None, silence_logs=40)
    return Client(cluster), cluster


def run_on_dask(net, todo, x, y, ref, rows, cache, bar, scheduler=None, workers=2,
                client=None, on_result=None):
    """Compute ``todo`` (hash -> config) into ``rows``, caching each as it finishes.

    ``client``: an open ``dask.distributed.Client`` to use (else one is opened
    and closed here); ``on_result(n_done, client)``: called after each row (tests
    use it to kill a worker mid-run)."""
    own = client is None
    cluster = None
    if own:
        client, cluster = open_client(scheduler, workers)
    try:
        pending = dict(todo)
        for _ in range(ROUNDS):
            if not pending:
                break
            _round(client, net, pending, x, y, ref, rows, cache, bar, on_result)
            pending = {h: c for h, c in pending.items() if h not in rows}
    finally:
        if own:
            client.close()
            if cluster is not None:
                cluster.close()


#: submission rounds: configurations whose task failed (e.g. every worker that ran it
#: died, or the scattered data was lost) are submitted again, with the data scattered anew
ROUNDS = 3


def _round(client, net, pending, x, y, ref, rows, cache, bar, on_result):
    import uuid

    from dask.distributed import as_completed

    tag = uuid.uuid4().hex[:8]
    net_f, x_f, y_f, ref_f = client.scatter([net, x, y, ref], broadcast=True)
    futs = {client.submit(_task, net_f, c, x_f, y_f, ref_f, key=f"hwsim-sweep-{h}-{tag}",
                          pure=False, retries=2): h for h, c in pending.items()}
    for fut in as_completed(list(futs)):
        h = futs[fut]
        if fut.status != "finished":
            continue  # submitted again in the next round; else reported missing
        rows[h] = fut.result()
        cache.put(h, pending[h], rows[h])
        bar.step()
        if on_result is not None:
            on_result(len(rows), client)


class WorkerKiller:
    """An ``on_result`` callback that SIGKILLs one worker process (the first by address)
    once ``after`` rows have arrived: the fault injection of the tests and of
    benchmarks/sweep_resnet.py.  ``killed``: the address, once done; ``killed_at``:
    how many rows had arrived then."""

    def __init__(self, after: int):
        self.after, self.killed, self.killed_at = after, None, None

    def __call__(self, done, client):
        import os
        import signal

        if done >= self.after and self.killed is None:
            pids = client.run(os.getpid)
            addr = sorted(pids)[0]
            os.kill(pids[addr], signal.SIGKILL)
            self.killed, self.killed_at = addr, done
