/*
 * bytecode.h - the compiled form of an expression, shared by compile.c
 * (which writes it) and vm.c (which runs it); private to src/expr.
 *
 * A program is a flat array of instructions for a stack machine plus pools
 * the instructions refer to by index: constant values, host fields and
 * methods, functions, regexes, string sets for `in`, closures. Local slots
 * hold let-bound names and the state of predicate loops; their number is
 * fixed at compile time because closures cannot recurse. Every instruction
 * keeps the source position of its node, for run-time error messages.
 */
#ifndef PHALANX_EXPR_BYTECODE_H
#define PHALANX_EXPR_BYTECODE_H

#include "common/arena.h"
#include "common/hashmap.h"
#include "expr/helpers.h"
#include "expr/internal.h"

enum expr_opcode {
    BC_NOP,
    BC_CONST, /* push consts[a] */
    BC_NIL,   /* push nil */
    BC_TRUE,
    BC_FALSE,
    BC_POP,           /* drop the top */
    BC_LOAD_VAR,      /* push vars[a] */
    BC_LOAD_ENV,      /* push a map of every variable ($env) */
    BC_LOAD,          /* push locals[a] */
    BC_STORE,         /* locals[a] = pop */
    BC_INC_LOCAL,     /* locals[a].i++ (counters) */
    BC_JUMP,          /* ip = a */
    BC_JUMP_IF_FALSE, /* peek; ip = a if false; error if not bool */
    BC_JUMP_IF_TRUE,
    BC_JUMP_IF_NIL,     /* peek; ip = a if nil */
    BC_JUMP_IF_NOT_NIL, /* peek */
    BC_FIELD,           /* top = fields[a] of the host object on top */
    BC_MEMBER,     /* top = top.<consts[a]> resolved at run time (map key, field or is_map key) */
    BC_MAPKEY,     /* top = top[consts[a]] on a map or an is_map host object */
    BC_INDEX,      /* b = pop, a = pop; push a[b] */
    BC_SLICE,      /* flags a: 1 = has from, 2 = has to; pops to, from, obj */
    BC_METHOD,     /* methods[a] with b args: pops args then the receiver */
    BC_METHOD_DYN, /* method named consts[a] looked up on the receiver, b args */
    BC_CALL,       /* funcs[a] with b args */
    BC_CLOSURE,    /* push closure value closures[a] */
    BC_NOT,
    BC_NEG,
    BC_PLUS, /* unary +: numbers only */
    BC_EQ,
    BC_NE,
    BC_LT,
    BC_GT,
    BC_LE,
    BC_GE,
    BC_ADD,
    BC_SUB,
    BC_MUL,
    BC_DIV,
    BC_MOD,
    BC_POW,
    BC_RANGE,
    BC_IN,            /* b = pop (container), a = pop (needle) */
    BC_IN_SET,        /* needle = pop; in the constant string set sets[a] / consts[b] */
    BC_MATCHES,       /* dynamic pattern */
    BC_MATCHES_CONST, /* regexes[a] */
    BC_CONTAINS,
    BC_STARTSWITH,
    BC_ENDSWITH,
    BC_ARRAY,      /* pops a values, pushes an array */
    BC_MAP,        /* pops a key/value pairs, pushes a map */
    BC_BOOL_CHECK, /* error unless the top is a bool (conditions) */
    /* Predicate loops: a = base slot of the scope (see SCOPE_*), b = jump target. */
    BC_BEGIN,     /* pop the collection into the scope, index = 0 */
    BC_BEGIN_REV, /* same, index = len - 1 */
    BC_NEXT,      /* if index >= len: ip = b; else item = collection[index] */
    BC_NEXT_REV,  /* if index < 0: ip = b; else item = collection[index] */
    BC_STEP,      /* index++ ; ip = b */
    BC_STEP_REV,  /* index-- ; ip = b */
    BC_ACC_PUSH,  /* append pop to the scope's acc array (filter, map) */
    BC_ACC_ARRAY, /* push the scope's acc array, or an empty one */
    BC_ACC_MAP,   /* push the scope's acc map, or an empty one */
    BC_GROUP_ADD, /* key = pop; acc[key] += item */
    BC_SORT_ADD,  /* key = pop; remember (key, item) */
    BC_SORT_END,  /* desc flag = pop; sort the remembered pairs, push the items */
    BC_THROW,     /* run-time error with message consts[a] */
    BC_RETURN,    /* end of a closure body: the result is on top */
    BC_COUNT_
};

/* Slots of one predicate scope, from its base slot. */
enum { SCOPE_COLL, SCOPE_INDEX, SCOPE_LEN, SCOPE_COUNT, SCOPE_ACC, SCOPE_ITEM, SCOPE_SLOTS };

struct bc_insn {
    uint8_t op;
    int32_t a, b;
    int line, column;
};

/* A closure passed to a function: code starting at entry, whose `#` is locals[item_slot]. */
struct bc_closure {
    const struct expr_program *prog;
    int32_t entry;
    int32_t scope; /* base slot of its scope */
};

struct expr_program {
    char *source;
    size_t srclen;
    const struct expr_env *env;
    struct expr_type type;
    struct arena arena; /* constants' payloads, types */

    struct bc_insn *code;
    size_t ncode, codecap;
    int32_t
        main_end; /* code[0..main_end) is the main body (ends with BC_RETURN); closures follow */

    struct expr_value *consts;
    size_t nconsts, constcap;
    const struct expr_field **fields;
    size_t nfields, fieldcap;
    const struct expr_method **methods;
    size_t nmethods, methodcap;
    const struct expr_func **funcs;
    size_t nfuncs, funccap;
    struct expr_regex **regexes;
    size_t nregexes, regexcap;
    struct hashmap **sets;
    size_t nsets, setcap;
    struct bc_closure *closures;
    size_t nclosures, closurecap;
    int32_t nlocals;
};

/* vm.c: the binary and unary operators, shared with the compiler's constant folding. */
int expr_vm_binop(struct expr_vm *vm, int op, const struct expr_value *a,
                  const struct expr_value *b, struct expr_value *ret);

/* compile.c: opcode names for the disassembly; error filling with the caret excerpt. */
const char *expr_opcode_name(int op);
void expr_error_set(struct expr_error *err, const char *src, size_t srclen, int line, int column,
                    const char *msg);

#endif
