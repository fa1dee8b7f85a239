/*
 * helpers_xml.c - XMLGetNodeValue(xml, path) and XMLGetAttributeValue(xml,
 * path, attr), CrowdSec's helpers for Windows event logs and other XML lines.
 *
 * CrowdSec evaluates the path with beevik/etree, whose "XPath-like" language
 * is not XPath: `/Event/System/EventID` matches elements by tag whatever
 * their default namespace (Windows events carry xmlns="http://schemas.
 * microsoft.com/win/2004/08/events/event", which breaks a plain XPath), the
 * traversal is breadth-first, `[n]` counts from 1 and `[-1]` is the last.
 * Rather than translate that into XPath approximately, this file implements
 * etree's path grammar and traversal on the tree libxml2 parses; libxml2 is
 * only the (hardened) parser: no network, no DTD loading, no entity
 * substitution.
 *
 * Every failure (bad XML, bad path, nothing found) gives "", as in CrowdSec.
 * A parser node calls these helpers many times on the same line, so each
 * thread keeps its last parsed document and reuses it while the XML text is
 * the same.
 */
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <pthread.h>

#include "common/str.h"
#include "expr/helpers.h"

#define XML_MAX_INPUT    (16u << 20) /* bytes of XML text accepted */
#define XML_MAX_PATH     1024        /* bytes of path */
#define XML_MAX_SEGMENTS 64
#define XML_MAX_FILTERS  8
#define XML_MAX_STEPS    1000000 /* candidate visits per lookup */

/* --- etree paths --- */

enum xml_sel {
    XML_SEL_SELF,
    XML_SEL_PARENT,
    XML_SEL_CHILDREN,
    XML_SEL_DESCENDANTS,
    XML_SEL_TAG,
    XML_SEL_ROOT
};

enum xml_filter_kind {
    XML_F_POS,        /* [n] */
    XML_F_ATTR,       /* [@a] */
    XML_F_ATTR_VAL,   /* [@a='v'] */
    XML_F_FUNC,       /* [text()] */
    XML_F_FUNC_VAL,   /* [fn()='v'] */
    XML_F_CHILD,      /* [tag] */
    XML_F_CHILD_TEXT, /* [tag='v'] */
};

enum xml_fn { XML_FN_LOCAL_NAME, XML_FN_NAME, XML_FN_NS_PREFIX, XML_FN_NS_URI, XML_FN_TEXT };

struct xml_name {
    struct strv space, local; /* space "" matches any prefix */
};

struct xml_filter {
    enum xml_filter_kind kind;
    int pos;
    enum xml_fn fn;
    struct xml_name name;
    struct strv value;
};

struct xml_segment {
    enum xml_sel sel;
    struct xml_name tag;
    struct xml_filter filters[XML_MAX_FILTERS];
    int nfilters;
};

struct xml_path {
    struct xml_segment segs[XML_MAX_SEGMENTS];
    int nsegs;
};

/* etree's spaceDecompose: "ns:tag" -> ("ns", "tag"), split at the first colon. */
static struct xml_name
xml_name_parse(const char *s, size_t len)
{
    const char *colon = memchr(s, ':', len);
    if (!colon)
        return (struct xml_name){ { "", 0 }, { s, len } };
    return (struct xml_name){ { s, (size_t)(colon - s) },
                              { colon + 1, len - (size_t)(colon - s) - 1 } };
}

static bool
xml_is_integer(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((s[i] < '0' || s[i] > '9') && !(i == 0 && s[i] == '-'))
            return false;
    return true;
}

static int
xml_fn_lookup(const char *s, size_t len, enum xml_fn *ret)
{
    static const struct {
        const char *name;
        enum xml_fn fn;
    } fns[] = {
        { "local-name", XML_FN_LOCAL_NAME },
        { "name", XML_FN_NAME },
        { "namespace-prefix", XML_FN_NS_PREFIX },
        { "namespace-uri", XML_FN_NS_URI },
        { "text", XML_FN_TEXT },
    };
    for (size_t i = 0; i < ARRAY_SIZE(fns); i++)
        if (strlen(fns[i].name) == len && memcmp(fns[i].name, s, len) == 0) {
            *ret = fns[i].fn;
            return 0;
        }
    return -1;
}

/* etree's parseFilter, on the text between '[' and ']'. */
static int
xml_filter_parse(const char *s, size_t len, struct xml_filter *f)
{
    if (len == 0)
        return -1; /* "path contains an empty filter expression." */
    memset(f, 0, sizeof(*f));
    const char *eq = NULL;
    for (size_t i = 0; i + 1 < len; i++)
        if (s[i] == '=' && s[i + 1] == '\'') {
            eq = s + i;
            break;
        }
    if (eq) {
        size_t keylen = (size_t)(eq - s);
        const char *vstart = eq + 2;
        const char *q = memchr(vstart, '\'', (size_t)(s + len - vstart));
        if (!q || q != s + len - 1 || keylen == 0)
            return -1; /* "path has mismatched filter quotes." */
        f->value = (struct strv){ vstart, (size_t)(q - vstart) };
        if (s[0] == '@') {
            f->kind = XML_F_ATTR_VAL;
            f->name = xml_name_parse(s + 1, keylen - 1);
        } else if (keylen >= 2 && s[keylen - 2] == '(' && s[keylen - 1] == ')') {
            f->kind = XML_F_FUNC_VAL;
            if (xml_fn_lookup(s, keylen - 2, &f->fn) < 0)
                return -1; /* "path has unknown function" */
        } else {
            f->kind = XML_F_CHILD_TEXT;
            f->name = xml_name_parse(s, keylen);
        }
        return 0;
    }
    if (s[0] == '@') {
        f->kind = XML_F_ATTR;
        f->name = xml_name_parse(s + 1, len - 1);
    } else if (len >= 2 && s[len - 2] == '(' && s[len - 1] == ')') {
        /* Only text() has a boolean form. */
        if (xml_fn_lookup(s, len - 2, &f->fn) < 0 || f->fn != XML_FN_TEXT)
            return -1;
        f->kind = XML_F_FUNC;
    } else if (xml_is_integer(s, len)) {
        /* strconv.Atoi; on failure ("-") etree keeps 0, i.e. the first. */
        long pos = 0;
        bool neg = s[0] == '-';
        bool ok = len > (size_t)neg && len - (size_t)neg < 10;
        for (size_t i = neg; ok && i < len; i++)
            pos = pos * 10 + (s[i] - '0');
        pos = ok ? (neg ? -pos : pos) : 0;
        f->kind = XML_F_POS;
        f->pos = (int)(pos > 0 ? pos - 1 : pos);
    } else {
        f->kind = XML_F_CHILD;
        f->name = xml_name_parse(s, len);
    }
    return 0;
}

/* etree's parseSegment: a selector then [filters], split at every '['. */
static int
xml_segment_parse(const char *s, size_t len, struct xml_segment *seg)
{
    const char *br = memchr(s, '[', len);
    size_t sellen = br ? (size_t)(br - s) : len;

    memset(seg, 0, sizeof(*seg));
    if (sellen == 1 && s[0] == '.')
        seg->sel = XML_SEL_SELF;
    else if (sellen == 2 && s[0] == '.' && s[1] == '.')
        seg->sel = XML_SEL_PARENT;
    else if (sellen == 1 && s[0] == '*')
        seg->sel = XML_SEL_CHILDREN;
    else if (sellen == 0)
        seg->sel = XML_SEL_DESCENDANTS;
    else {
        seg->sel = XML_SEL_TAG;
        seg->tag = xml_name_parse(s, sellen);
    }
    while (br) {
        const char *start = br + 1;
        const char *end = s + len;
        br = memchr(start, '[', (size_t)(end - start));
        const char *stop = br ? br : end;
        size_t flen = (size_t)(stop - start);
        if (flen == 0 || start[flen - 1] != ']')
            return -1; /* "path has invalid filter [brackets]." */
        if (seg->nfilters == XML_MAX_FILTERS)
            return -1;
        if (xml_filter_parse(start, flen - 1, &seg->filters[seg->nfilters++]) < 0)
            return -1;
    }
    return 0;
}

/* etree's CompilePath. The path text must outlive p (segments borrow it). */
static int
xml_path_compile(const char *s, size_t len, struct xml_path *p)
{
    p->nsegs = 0;
    if (len > XML_MAX_PATH)
        return -1;
    /* A path ending in two slashes gets a "*" appended (etree); see the end of the loop. */
    bool add_star = len >= 2 && s[len - 2] == '/' && s[len - 1] == '/';
    if (len > 0 && s[0] == '/') {
        p->segs[p->nsegs++] = (struct xml_segment){ .sel = XML_SEL_ROOT };
        s++;
        len--;
    }
    size_t start = 0;
    bool inquote = false;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && s[i] == '\'') {
            inquote = !inquote;
            continue;
        }
        if (i < len && (s[i] != '/' || inquote))
            continue;
        if (p->nsegs == XML_MAX_SEGMENTS)
            return -1;
        if (xml_segment_parse(s + start, i - start, &p->segs[p->nsegs++]) < 0)
            return -1;
        start = i + 1;
    }
    if (add_star) {
        /* The last segment parsed from "" is a descendants selector; etree parses "*" there. */
        p->segs[p->nsegs - 1] = (struct xml_segment){ .sel = XML_SEL_CHILDREN };
    }
    return 0;
}

/*
 * --- the element model etree sees, on libxml2 nodes ---
 *
 * etree reads with encoding/xml's tokenizer, which accepts text outside the
 * root element and several root elements (the hub's Windows samples start
 * with "- <Event ...>", as copied from the Event Viewer). libxml2 does not, so
 * the text is parsed inside a wrapper element that stands for etree's
 * Document: no tag, no attributes, no parent.
 */
#define XML_WRAP_OPEN  "<phalanx-etree-document>"
#define XML_WRAP_CLOSE "</phalanx-etree-document>"

static bool
xml_is_document(const xmlNode *n)
{
    return n->type == XML_ELEMENT_NODE && n->parent && n->parent->type == XML_DOCUMENT_NODE;
}

static struct strv
xml_cstr(const xmlChar *s)
{
    return s ? (struct strv){ (const char *)s, strlen((const char *)s) } : (struct strv){ "", 0 };
}

/* etree's spaceMatch: an empty space in the path matches any prefix. */
static bool
xml_name_match(const struct xml_name *want, struct strv space, struct strv local)
{
    return (want->space.len == 0 || strv_eq(want->space, space)) && strv_eq(want->local, local);
}

static struct strv
xml_elem_space(const xmlNode *n)
{
    return n->ns && !xml_is_document(n) ? xml_cstr(n->ns->prefix) : (struct strv){ "", 0 };
}

static struct strv
xml_elem_tag(const xmlNode *n)
{
    return xml_is_document(n) ? (struct strv){ "", 0 } : xml_cstr(n->name);
}

static const xmlNode *
xml_parent(const xmlNode *n)
{
    return n->parent && n->parent->type == XML_ELEMENT_NODE ? n->parent : NULL;
}

/*
 * etree's Element.Text(): the character data (text and CDATA) right after
 * the opening tag, up to the first child that is neither character data nor
 * a comment. The result is written into out.
 */
static int
xml_elem_text(const xmlNode *n, struct str *out)
{
    str_clear(out);
    for (const xmlNode *c = n->children; c; c = c->next) {
        if (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) {
            if (str_append_cstr(out, c->content ? (const char *)c->content : "") < 0)
                return -ENOMEM;
        } else if (c->type != XML_COMMENT_NODE) {
            break;
        }
    }
    return 0;
}

static bool
xml_text_eq(const xmlNode *n, struct strv want)
{
    struct str t = STR_INIT;
    bool eq =
        xml_elem_text(n, &t) == 0 && strv_eq((struct strv){ t.buf ? t.buf : "", t.len }, want);
    str_free(&t);
    return eq;
}

/*
 * Finds attribute `name` on n like etree's attribute list: the element's
 * attributes, plus its namespace declarations (xmlns="..." is the attribute
 * "xmlns", xmlns:p="..." is "xmlns:p"). Returns 1 with the value in out, 0
 * when absent. A value holding an entity reference counts as absent: Go's
 * decoder would have rejected the whole document.
 */
static int
xml_attr_find(const xmlNode *n, const struct xml_name *name, struct str *out)
{
    str_clear(out);
    if (xml_is_document(n))
        return 0;
    for (const xmlNs *ns = n->nsDef; ns; ns = ns->next) {
        struct strv space = ns->prefix ? STRV("xmlns") : (struct strv){ "", 0 };
        struct strv key = ns->prefix ? xml_cstr(ns->prefix) : STRV("xmlns");
        if (xml_name_match(name, space, key))
            return str_append_cstr(out, ns->href ? (const char *)ns->href : "") < 0 ? 0 : 1;
    }
    for (const xmlAttr *a = n->properties; a; a = a->next) {
        struct strv space = a->ns ? xml_cstr(a->ns->prefix) : (struct strv){ "", 0 };
        if (!xml_name_match(name, space, xml_cstr(a->name)))
            continue;
        for (const xmlNode *c = a->children; c; c = c->next) {
            if (c->type != XML_TEXT_NODE)
                return 0;
            if (str_append_cstr(out, c->content ? (const char *)c->content : "") < 0)
                return 0;
        }
        return 1;
    }
    return 0;
}

static void
xml_fn_value(const xmlNode *n, enum xml_fn fn, struct str *out)
{
    struct strv space = xml_elem_space(n), tag = xml_elem_tag(n);
    str_clear(out);
    switch (fn) {
    case XML_FN_LOCAL_NAME: str_append(out, tag.ptr, tag.len); break;
    case XML_FN_NAME:
        if (space.len > 0) {
            str_append(out, space.ptr, space.len);
            str_append_char(out, ':');
        }
        str_append(out, tag.ptr, tag.len);
        break;
    case XML_FN_NS_PREFIX: str_append(out, space.ptr, space.len); break;
    case XML_FN_NS_URI:
        if (!xml_is_document(n) && n->ns && n->ns->href)
            str_append_cstr(out, (const char *)n->ns->href);
        break;
    case XML_FN_TEXT: xml_elem_text(n, out); break;
    }
}

/* --- traversal --- */

struct xml_walk {
    const xmlNode **cand, **scratch; /* candidate lists (arena) */
    size_t ncand, cap;
    size_t steps;
    bool overflow;
};

static void
xml_add(struct xml_walk *w, const xmlNode *n)
{
    if (++w->steps > XML_MAX_STEPS || w->ncand == w->cap) {
        w->overflow = true;
        return;
    }
    w->cand[w->ncand++] = n;
}

static void
xml_select(struct xml_walk *w, const struct xml_segment *seg, const xmlNode *e)
{
    switch (seg->sel) {
    case XML_SEL_SELF: xml_add(w, e); break;
    case XML_SEL_ROOT: {
        const xmlNode *root = e;
        while (xml_parent(root))
            root = xml_parent(root);
        xml_add(w, root);
        break;
    }
    case XML_SEL_PARENT:
        if (xml_parent(e))
            xml_add(w, xml_parent(e));
        break;
    case XML_SEL_CHILDREN:
    case XML_SEL_TAG:
        for (const xmlNode *c = e->children; c && !w->overflow; c = c->next)
            if (c->type == XML_ELEMENT_NODE &&
                (seg->sel == XML_SEL_CHILDREN ||
                 xml_name_match(&seg->tag, xml_elem_space(c), xml_elem_tag(c))))
                xml_add(w, c);
        break;
    case XML_SEL_DESCENDANTS: {
        /* Breadth-first, self included, with the candidate list as the queue. */
        size_t head = w->ncand;
        xml_add(w, e);
        while (head < w->ncand && !w->overflow) {
            const xmlNode *cur = w->cand[head++];
            for (const xmlNode *c = cur->children; c && !w->overflow; c = c->next)
                if (c->type == XML_ELEMENT_NODE)
                    xml_add(w, c);
        }
        break;
    }
    }
}

static bool
xml_filter_keep(const struct xml_filter *f, const xmlNode *c, struct str *tmp)
{
    switch (f->kind) {
    case XML_F_POS: return true; /* handled on the whole list */
    case XML_F_ATTR: return xml_attr_find(c, &f->name, tmp) == 1;
    case XML_F_ATTR_VAL:
        return xml_attr_find(c, &f->name, tmp) == 1 &&
               strv_eq((struct strv){ tmp->buf ? tmp->buf : "", tmp->len }, f->value);
    case XML_F_FUNC:
        return c->children &&
               (c->children->type == XML_TEXT_NODE || c->children->type == XML_CDATA_SECTION_NODE);
    case XML_F_FUNC_VAL:
        xml_fn_value(c, f->fn, tmp);
        return strv_eq((struct strv){ tmp->buf ? tmp->buf : "", tmp->len }, f->value);
    case XML_F_CHILD:
    case XML_F_CHILD_TEXT:
        for (const xmlNode *cc = c->children; cc; cc = cc->next)
            if (cc->type == XML_ELEMENT_NODE &&
                xml_name_match(&f->name, xml_elem_space(cc), xml_elem_tag(cc)) &&
                (f->kind == XML_F_CHILD || xml_text_eq(cc, f->value)))
                return true;
        return false;
    }
    return false;
}

/*
 * Applies one filter to the candidate list. etree's [tag] and [tag='v']
 * filters append an element once per matching child; only the first result
 * matters here, but [n] after them sees the duplicates, so they are kept.
 */
static void
xml_filter_apply(struct xml_walk *w, const struct xml_filter *f, struct str *tmp)
{
    size_t n = 0;
    if (f->kind == XML_F_POS) {
        long idx = f->pos >= 0 ? f->pos : (long)w->ncand + f->pos;
        if (idx >= 0 && (size_t)idx < w->ncand)
            w->scratch[n++] = w->cand[idx];
    } else {
        for (size_t i = 0; i < w->ncand; i++) {
            const xmlNode *c = w->cand[i];
            size_t times = 1;
            if (f->kind == XML_F_CHILD || f->kind == XML_F_CHILD_TEXT) {
                times = 0;
                for (const xmlNode *cc = c->children; cc; cc = cc->next)
                    if (cc->type == XML_ELEMENT_NODE &&
                        xml_name_match(&f->name, xml_elem_space(cc), xml_elem_tag(cc)) &&
                        (f->kind == XML_F_CHILD || xml_text_eq(cc, f->value)))
                        times++;
            } else if (!xml_filter_keep(f, c, tmp)) {
                times = 0;
            }
            for (size_t t = 0; t < times && n < w->cap; t++)
                w->scratch[n++] = c;
        }
    }
    const xmlNode **swap = w->cand;
    w->cand = w->scratch;
    w->scratch = swap;
    w->ncand = n;
}

/*
 * etree's FindElementPath: breadth-first over (element, remaining segments)
 * pairs; the first candidate that survives the last segment is the answer.
 */
static const xmlNode *
xml_find(struct expr_vm *vm, const xmlNode *root, const struct xml_path *p, size_t nelems)
{
    struct xml_walk w = { 0 };
    struct str tmp = STR_INIT;
    const xmlNode *found = NULL;
    /* The queue of pending (node, segment) pairs, as two parallel arrays. */
    size_t qcap = nelems + 16, qhead = 0, qlen = 0;
    const xmlNode **qnode = expr_vm_alloc(vm, qcap * sizeof(*qnode));
    int *qseg = expr_vm_alloc(vm, qcap * sizeof(*qseg));

    /* Every element, plus the document, plus duplicates from [tag] filters. */
    w.cap = 2 * nelems + 16;
    w.cand = expr_vm_alloc(vm, w.cap * sizeof(*w.cand));
    w.scratch = expr_vm_alloc(vm, w.cap * sizeof(*w.scratch));
    if (!qnode || !qseg || !w.cand || !w.scratch || p->nsegs == 0)
        return NULL;
    qnode[qlen] = root;
    qseg[qlen++] = 0;
    while (qhead < qlen && !found) {
        const xmlNode *e = qnode[qhead];
        int si = qseg[qhead++];
        const struct xml_segment *seg = &p->segs[si];
        w.ncand = 0;
        xml_select(&w, seg, e);
        for (int f = 0; f < seg->nfilters && !w.overflow; f++)
            xml_filter_apply(&w, &seg->filters[f], &tmp);
        if (w.overflow)
            break;
        if (si + 1 == p->nsegs) {
            if (w.ncand > 0)
                found = w.cand[0];
            continue;
        }
        for (size_t i = 0; i < w.ncand; i++) {
            if (qlen == qcap) {
                /* Grow the queue (arena memory): bounded by the step limit. */
                size_t ncap = qcap * 2;
                const xmlNode **nq =
                    ncap <= XML_MAX_STEPS ? expr_vm_alloc(vm, ncap * sizeof(*nq)) : NULL;
                int *ns = nq ? expr_vm_alloc(vm, ncap * sizeof(*ns)) : NULL;
                if (!ns) {
                    w.overflow = true;
                    break;
                }
                memcpy(nq, qnode, qlen * sizeof(*nq));
                memcpy(ns, qseg, qlen * sizeof(*ns));
                qnode = nq;
                qseg = ns;
                qcap = ncap;
            }
            qnode[qlen] = w.cand[i];
            qseg[qlen++] = si + 1;
        }
        if (w.overflow)
            break;
    }
    str_free(&tmp);
    return found;
}

/* --- the per-thread document cache --- */

struct xml_cache {
    char *text; /* copy of the XML the document was parsed from */
    size_t len;
    xmlDoc *doc;         /* NULL if the text did not parse */
    const xmlNode *root; /* the wrapper element: etree's Document */
    size_t nelems;
};

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;
static pthread_key_t xml_key;
static bool xml_key_ok;
static __thread struct xml_cache *xml_tls; /* keeps the cache reachable for leak checkers */

static void
xml_cache_free(void *p)
{
    struct xml_cache *c = p;
    if (!c)
        return;
    xmlFreeDoc(c->doc);
    free(c->text);
    free(c);
}

static void
xml_init(void)
{
    xmlInitParser();
    xml_key_ok = pthread_key_create(&xml_key, xml_cache_free) == 0;
}

static size_t
xml_count_elems(const xmlNode *n, size_t depth)
{
    size_t count = 0;
    for (; n; n = n->next)
        if (n->type == XML_ELEMENT_NODE)
            count += 1 + (depth < 256 ? xml_count_elems(n->children, depth + 1) : 0);
    return count;
}

/* The parsed document for text (cached per thread), or NULL when it is not XML. */
static const struct xml_cache *
xml_document(const char *text, size_t len)
{
    pthread_once(&xml_once, xml_init);
    if (!xml_key_ok || len > XML_MAX_INPUT)
        return NULL;
    struct xml_cache *c = xml_tls;
    if (!c) {
        c = calloc(1, sizeof(*c));
        if (!c || pthread_setspecific(xml_key, c) != 0) {
            free(c);
            return NULL;
        }
        xml_tls = c;
    }
    if (c->text && c->len == len && memcmp(c->text, text, len) == 0)
        return c->doc ? c : NULL;
    xmlFreeDoc(c->doc);
    free(c->text);
    c->doc = NULL;
    c->text = malloc(len ? len : 1);
    c->len = len;
    if (!c->text)
        return NULL;
    memcpy(c->text, text, len);

    /* An XML declaration must stay first: the wrapper goes after it. */
    size_t decl = 0;
    if (len >= 5 && memcmp(text, "<?xml", 5) == 0) {
        const char *end = memmem(text, len, "?>", 2);
        decl = end ? (size_t)(end - text) + 2 : 0;
    }
    struct str wrapped = STR_INIT;
    if (str_append(&wrapped, text, decl) < 0 || str_append_cstr(&wrapped, XML_WRAP_OPEN) < 0 ||
        str_append(&wrapped, text + decl, len - decl) < 0 ||
        str_append_cstr(&wrapped, XML_WRAP_CLOSE) < 0) {
        str_free(&wrapped);
        return NULL;
    }

    /*
     * No XML_PARSE_NOENT (entities stay references, nothing is expanded),
     * no DTD loading or validation, no network: external entities (XXE)
     * are never fetched.
     */
    c->doc = xmlReadMemory(wrapped.buf, (int)wrapped.len, NULL, NULL,
                           XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    str_free(&wrapped);
    if (!c->doc)
        return NULL;
    c->root = xmlDocGetRootElement(c->doc);
    if (!c->root) {
        xmlFreeDoc(c->doc);
        c->doc = NULL;
        return NULL;
    }
    c->nelems = xml_count_elems(c->doc->children, 0);
    return c;
}

/* --- helpers --- */

/* Parses and finds: the element the path selects, or NULL ("" result). */
static const xmlNode *
xml_lookup(struct expr_vm *vm, struct strv xml, struct strv path)
{
    struct xml_path *p = expr_vm_alloc(vm, sizeof(*p));
    if (!p || xml_path_compile(path.ptr, path.len, p) < 0)
        return NULL;
    const struct xml_cache *c = xml_document(xml.ptr, xml.len);
    if (!c)
        return NULL;
    return xml_find(vm, c->root, p, c->nelems);
}

static int
fn_xml_get_node_value(struct expr_vm *vm, const struct expr_value *args, size_t nargs,
                      struct expr_value *ret)
{
    struct strv xml, path;
    struct str text = STR_INIT;

    if (expr_helper_arg_strv(vm, "XMLGetNodeValue", args, 0, &xml) < 0 ||
        expr_helper_arg_strv(vm, "XMLGetNodeValue", args, 1, &path) < 0)
        return -1;
    *ret = expr_strv("", 0);
    const xmlNode *n = xml_lookup(vm, xml, path);
    if (!n)
        return 0;
    if (xml_elem_text(n, &text) < 0) {
        str_free(&text);
        return expr_vm_error(vm, "out of memory");
    }
    if (text.len > 0)
        *ret = expr_vm_str(vm, text.buf, text.len);
    str_free(&text);
    return ret->kind == EXPR_NIL ? expr_vm_error(vm, "out of memory") : 0;
}

static int
fn_xml_get_attribute_value(struct expr_vm *vm, const struct expr_value *args, size_t nargs,
                           struct expr_value *ret)
{
    struct strv xml, path, attr;
    struct str value = STR_INIT;

    if (expr_helper_arg_strv(vm, "XMLGetAttributeValue", args, 0, &xml) < 0 ||
        expr_helper_arg_strv(vm, "XMLGetAttributeValue", args, 1, &path) < 0 ||
        expr_helper_arg_strv(vm, "XMLGetAttributeValue", args, 2, &attr) < 0)
        return -1;
    *ret = expr_strv("", 0);
    const xmlNode *n = xml_lookup(vm, xml, path);
    if (!n)
        return 0;
    struct xml_name name = xml_name_parse(attr.ptr, attr.len);
    if (xml_attr_find(n, &name, &value) == 1 && value.len > 0)
        *ret = expr_vm_str(vm, value.buf, value.len);
    str_free(&value);
    return ret->kind == EXPR_NIL ? expr_vm_error(vm, "out of memory") : 0;
}

const struct expr_func expr_helpers_xml[] = {
    { "XMLGetNodeValue", 2, 2, EXPR_T(EXPR_STRING), fn_xml_get_node_value },
    { "XMLGetAttributeValue", 3, 3, EXPR_T(EXPR_STRING), fn_xml_get_attribute_value },
};
const size_t expr_helpers_xml_count = ARRAY_SIZE(expr_helpers_xml);
