/* hw_acc_table.c -- accumulator kind (HW_ACC_*, include/hwsim.h) -> its
 * operations (hwi_acc_ops, hw_internal.h).  A new kind: its own file
 * defining a const hwi_acc_ops, plus one line here. */
#include "hw_internal.h"

extern const hwi_acc_ops hwi_acc_fixed_ops; /* hw_acc_fixed.c */
extern const hwi_acc_ops hwi_acc_fixed_group_ops; /* hw_acc_fixed.c: fan_in > 1 */
extern const hwi_acc_ops hwi_acc_float_ops; /* hw_acc_float.c */
extern const hwi_acc_ops hwi_acc_multi_ops; /* hw_acc_multi.c */

const hwi_acc_ops *hwi_acc_ops_of(int32_t kind)
{
    static const hwi_acc_ops *const table[] = {
        [HW_ACC_FIXED] = &hwi_acc_fixed_ops,
        [HW_ACC_FLOAT] = &hwi_acc_float_ops,
        [HW_ACC_MULTI] = &hwi_acc_multi_ops,
    };
    if (kind < 0 || kind >= (int32_t)(sizeof table / sizeof table[0])) return NULL;
    return table[kind];
}

const hwi_acc_ops *hwi_acc_ops_for(const hw_acc_spec *a)
{
    if (a->kind == HW_ACC_FIXED && a->fan_in > 1) return &hwi_acc_fixed_group_ops;
    if (a->kind == HW_ACC_FIXED && a->fan_in < 0) return NULL;
    return hwi_acc_ops_of(a->kind);
}
