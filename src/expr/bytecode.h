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
#include "common/str.h"
#include "expr/helpers.h"
#include "expr/internal.h"

/*
 * The opcodes, as X(NAME, LEN) entries: vm.c builds its dispatch table and
 * compile.c its disassembly names from this one list, so neither can miss
 * one. LEN is the number of instructions an opcode stands for: 1 for the ops
 * the compiler emits, more for the superinstructions its last pass fuses
 * from common sequences (cc_fuse). A fused op overwrites the first
 * instruction of its sequence and the vm skips the others, which stay in
 * place so that run-time errors still point at the node that failed.
 */
#define EXPR_OPCODES(X)                                                                            \
    X(NOP, 1)                                                                                      \
    X(CONST, 1) /* push consts[a] */                                                               \
    X(NIL, 1)   /* push nil */                                                                     \
    X(TRUE, 1)                                                                                     \
    X(FALSE, 1)                                                                                    \
    X(POP, 1)           /* drop the top */                                                         \
    X(LOAD_VAR, 1)      /* push vars[a] */                                                         \
    X(LOAD_ENV, 1)      /* push a map of every variable ($env) */                                  \
    X(LOAD, 1)          /* push locals[a] */                                                       \
    X(STORE, 1)         /* locals[a] = pop */                                                      \
    X(INC_LOCAL, 1)     /* locals[a].i++ (counters) */                                             \
    X(JUMP, 1)          /* ip = a */                                                               \
    X(JUMP_IF_FALSE, 1) /* peek; ip = a if false; error if not bool */                             \
    X(JUMP_IF_TRUE, 1)                                                                             \
    X(JUMP_IF_NIL, 1)     /* peek; ip = a if nil */                                                \
    X(JUMP_IF_NOT_NIL, 1) /* peek */                                                               \
    X(FIELD, 1)           /* top = fields[a] of the host object on top */                          \
    X(MEMBER, 1) /* top = top.<consts[a]> resolved at run time (map key, field or is_map key) */   \
    X(MAPKEY, 1) /* top = top[consts[a]] on a map or an is_map host object */                      \
    X(INDEX, 1)  /* b = pop, a = pop; push a[b] */                                                 \
    X(SLICE, 1)  /* flags a: 1 = has from, 2 = has to; pops to, from, obj */                       \
    X(METHOD, 1) /* methods[a] with b args: pops args then the receiver */                         \
    X(METHOD_DYN, 1) /* method named consts[a] looked up on the receiver, b args */                \
    X(CALL, 1)       /* funcs[a] with b args */                                                    \
    X(CLOSURE, 1)    /* push closure value closures[a] */                                          \
    X(NOT, 1)                                                                                      \
    X(NEG, 1)                                                                                      \
    X(PLUS, 1) /* unary +: numbers only */                                                         \
    X(EQ, 1)                                                                                       \
    X(NE, 1)                                                                                       \
    X(LT, 1)                                                                                       \
    X(GT, 1)                                                                                       \
    X(LE, 1)                                                                                       \
    X(GE, 1)                                                                                       \
    X(ADD, 1)                                                                                      \
    X(SUB, 1)                                                                                      \
    X(MUL, 1)                                                                                      \
    X(DIV, 1)                                                                                      \
    X(MOD, 1)                                                                                      \
    X(POW, 1)                                                                                      \
    X(RANGE, 1)                                                                                    \
    X(IN, 1)            /* b = pop (container), a = pop (needle) */                                \
    X(IN_SET, 1)        /* needle = pop; in the constant string set sets[a] / consts[b] */         \
    X(MATCHES, 1)       /* dynamic pattern */                                                      \
    X(MATCHES_CONST, 1) /* regexes[a] */                                                           \
    X(CONTAINS, 1)                                                                                 \
    X(STARTSWITH, 1)                                                                               \
    X(ENDSWITH, 1)                                                                                 \
    X(ARRAY, 1)      /* pops a values, pushes an array */                                          \
    X(MAP, 1)        /* pops a key/value pairs, pushes a map */                                    \
    X(BOOL_CHECK, 1) /* error unless the top is a bool (conditions) */                             \
    /* Predicate loops: a = base slot of the scope (see SCOPE_*), b = jump target. */              \
    X(BEGIN, 1)     /* pop the collection into the scope, index = 0 */                             \
    X(BEGIN_REV, 1) /* same, index = len - 1 */                                                    \
    X(NEXT, 1)      /* if index >= len: ip = b; else item = collection[index] */                   \
    X(NEXT_REV, 1)  /* if index < 0: ip = b; else item = collection[index] */                      \
    X(STEP, 1)      /* index++ ; ip = b */                                                         \
    X(STEP_REV, 1)  /* index-- ; ip = b */                                                         \
    X(ACC_PUSH, 1)  /* append pop to the scope's acc array (filter, map) */                        \
    X(ACC_ARRAY, 1) /* push the scope's acc array, or an empty one */                              \
    X(ACC_MAP, 1)   /* push the scope's acc map, or an empty one */                                \
    X(GROUP_ADD, 1) /* key = pop; acc[key] += item */                                              \
    X(SORT_ADD, 1)  /* key = pop; remember (key, item) */                                          \
    X(SORT_END, 1)  /* desc flag = pop; sort the remembered pairs, push the items */               \
    X(THROW, 1)     /* run-time error with message consts[a] */                                    \
    X(RETURN, 1)    /* end of a closure body: the result is on top */                              \
    /* Loop-invariant calls in predicate bodies, computed once per loop (cc_memo). */              \
    X(MEMO_CLEAR, 1) /* locals[a .. a+b) = nil, before the loop */                                 \
    X(MEMO_GET, 1)   /* if locals[a] is not nil: push it, ip = b */                                \
    X(MEMO_SET, 1)   /* locals[a] = top (peek) */                                                  \
    X(FILE_MAP, 1)   /* push File(consts[a]) with funcs[b] applied to each line (cached) */        \
    /* any(coll, {X op #}): with X on top, test the remaining items natively (cc_scan_op). */      \
    /* a = the loop's NEXT (its a is the scope), b = where a match jumps with true on top. */      \
    X(SCAN_EQ, 1)                                                                                  \
    X(SCAN_CONTAINS, 1)                                                                            \
    X(SCAN_STARTSWITH, 1)                                                                          \
    X(SCAN_ENDSWITH, 1)                                                                            \
    /* Superinstructions (cc_fuse); the operands of the sequence's first op are kept. */           \
    X(VAR_FIELD, 2)         /* LOAD_VAR a; FIELD b */                                              \
    X(VAR_MAPKEY, 2)        /* LOAD_VAR a; MAPKEY b */                                             \
    X(VAR_FIELD_MAPKEY, 3)  /* LOAD_VAR a; FIELD b; MAPKEY (its own a): evt.Meta.x */              \
    X(EQ_CONST, 2)          /* CONST a; EQ */                                                      \
    X(NE_CONST, 2)          /* CONST a; NE */                                                      \
    X(CONTAINS_CONST, 2)    /* CONST a; CONTAINS */                                                \
    X(STARTSWITH_CONST, 2)  /* CONST a; STARTSWITH */                                              \
    X(ENDSWITH_CONST, 2)    /* CONST a; ENDSWITH */                                                \
    X(INDEX_CONST, 2)       /* CONST a; INDEX */                                                   \
    X(JUMP_IF_FALSE_POP, 2) /* JUMP_IF_FALSE a; POP: jump keeping the top, or drop it */           \
    X(JUMP_IF_TRUE_POP, 2)  /* JUMP_IF_TRUE a; POP */

enum expr_opcode {
#define BC_ENUM_ITEM(name, len) BC_##name,
    EXPR_OPCODES(BC_ENUM_ITEM)
#undef BC_ENUM_ITEM
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

/*
 * The strings of a constant `in` list (IN_SET), sorted by length and then by
 * bytes: a lookup compares lengths first and only then bytes, linearly for a
 * handful of items and by binary search above, so it needs no hashing and is
 * O(log n) whatever the needle.
 */
struct bc_strset {
    struct strv *items; /* borrowed from the list constant */
    size_t n;
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
    struct bc_strset *sets;
    size_t nsets, setcap;
    struct bc_closure *closures;
    size_t nclosures, closurecap;
    int32_t nlocals;
};

/*
 * Equality of n bytes, inlined: for the short strings of filters (map keys,
 * log types, verbs) two overlapping word loads beat a call to memcmp.
 */
static inline bool
bc_bytes_eq(const char *a, const char *b, size_t n)
{
    if (n >= 8) {
        if (n > 16)
            return memcmp(a, b, n) == 0;
        uint64_t x0, y0, x1, y1;
        memcpy(&x0, a, 8);
        memcpy(&y0, b, 8);
        memcpy(&x1, a + n - 8, 8);
        memcpy(&y1, b + n - 8, 8);
        return ((x0 ^ y0) | (x1 ^ y1)) == 0;
    }
    if (n >= 4) {
        uint32_t x0, y0, x1, y1;
        memcpy(&x0, a, 4);
        memcpy(&y0, b, 4);
        memcpy(&x1, a + n - 4, 4);
        memcpy(&y1, b + n - 4, 4);
        return ((x0 ^ y0) | (x1 ^ y1)) == 0;
    }
    if (n == 0)
        return true;
    return a[0] == b[0] && a[n >> 1] == b[n >> 1] && a[n - 1] == b[n - 1];
}

/* Whether s (n bytes) is in the set (compile.c). */
bool expr_strset_has(const struct bc_strset *set, const char *s, size_t n);

/* vm.c: the binary and unary operators, shared with the compiler's constant folding. */
int expr_vm_binop(struct expr_vm *vm, int op, const struct expr_value *a,
                  const struct expr_value *b, struct expr_value *ret);

/* compile.c: opcode names for the disassembly; error filling with the caret excerpt. */
const char *expr_opcode_name(int op);
/* How many instructions op stands for (1, or more for a superinstruction). */
int expr_opcode_len(int op);
void expr_error_set(struct expr_error *err, const char *src, size_t srclen, int line, int column,
                    const char *msg);

#endif
