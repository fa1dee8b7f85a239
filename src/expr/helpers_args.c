/*
 * helpers_args.c - argument access shared by the CrowdSec helper families
 * (helpers_*.c). A helper's Go signature is checked at compile time only as
 * far as expr-lang does it; what slips through (an interface{} field, a nil)
 * reaches the helper, which must fail the way CrowdSec's Go code does: with
 * the panic text of a failed type assertion, or with the "cannot use ... to
 * call" text of expr's own argument check. One copy of each keeps those texts
 * the same in every family.
 */
#include "common/str.h"
#include "expr/helpers.h"

/*
 * Go's name for the dynamic type of v, as a helper's type-assertion panic
 * spells it ("nil" rather than %T's "<nil>").
 */
const char *
expr_helper_type_name(const struct expr_value *v)
{
    switch (v->kind) {
    case EXPR_NIL: return "nil";
    case EXPR_BOOL: return "bool";
    case EXPR_INT: return "int";
    case EXPR_FLOAT: return "float64";
    case EXPR_STRING: return "string";
    case EXPR_ARRAY: return "[]interface {}";
    case EXPR_MAP: return "map[string]interface {}";
    case EXPR_TIME: return "time.Time";
    case EXPR_DURATION: return "time.Duration";
    case EXPR_OBJECT: return v->u.o.cls != NULL ? v->u.o.cls->name : "object";
    default: return "func";
    }
}

int
expr_helper_type_error(struct expr_vm *vm, const struct expr_value *v, const char *want)
{
    return expr_vm_error(vm, "interface conversion: interface {} is %s, not %s",
                         expr_helper_type_name(v), want);
}

int
expr_helper_arg_strv(struct expr_vm *vm, const char *fn, const struct expr_value *args, size_t i,
                     struct strv *ret)
{
    *ret = (struct strv){ "", 0 };
    if (args[i].kind != EXPR_STRING)
        return expr_vm_error(vm, "cannot use %s as argument (type string) to call %s",
                             expr_kind_name(args[i].kind), fn);
    ret->ptr = args[i].u.s.ptr;
    ret->len = args[i].u.s.len;
    return 0;
}
