/*
 * math.c - the arithmetic of a bucket, kept exactly as CrowdSec's Go does it
 * so overflow boundaries match to the nanosecond: golang.org/x/time/rate's
 * token bucket (CrowdSec's leaky limiter), the float32 bayesian update, and
 * the SHA-1 bucket key / SHA-256 scenario hash.
 */
#include "common/common.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>

#include "bucket/internal.h"

/* Go's Duration.Seconds(): whole seconds plus the fraction, in float64. */
static double
go_seconds(int64_t d)
{
    int64_t sec = d / 1000000000, nsec = d % 1000000000;

    return (double)sec + (double)nsec / 1e9;
}

/* rate.Every(leakspeed): events per second. */
static double
go_limit(int64_t leakspeed_ns)
{
    return 1 / go_seconds(leakspeed_ns);
}

/*
 * Limiter.advance: tokens accrued since last, capped at burst. A zero
 * Limiter's last is the zero time, so its first call sees an elapsed time that
 * saturates Go's Duration: it starts full.
 */
static double
advance(const struct limiter *l, int64_t now_ns, double limit, int64_t burst)
{
    int64_t last = l->last_ns, elapsed;
    double tokens;

    if (!l->used) {
        elapsed = INT64_MAX;
    } else {
        if (now_ns < last)
            last = now_ns;
        elapsed = now_ns - last;
    }
    tokens = l->tokens + go_seconds(elapsed) * limit;
    if (tokens > (double)burst)
        tokens = (double)burst;
    return tokens;
}

bool
limiter_allow(struct limiter *l, int64_t now_ns, int64_t leakspeed_ns, int64_t burst)
{
    double limit = go_limit(leakspeed_ns);
    double tokens = advance(l, now_ns, limit, burst) - 1;
    int64_t wait = 0;

    /* reserveN with maxFutureReserve 0: allowed iff the wait, truncated to ns, is zero. */
    if (tokens < 0) {
        double w = 1e9 * (-tokens / limit);
        wait = w >= 9.2e18 ? INT64_MAX : (int64_t)w;
    }
    if (burst < 1 || wait > 0)
        return false;
    l->last_ns = now_ns;
    l->tokens = tokens;
    l->used = true;
    return true;
}

double
limiter_tokens_at(const struct limiter *l, int64_t now_ns, int64_t leakspeed_ns, int64_t burst)
{
    return advance(l, now_ns, go_limit(leakspeed_ns), burst);
}

float
bayes_update(float prior, float prob_given_evil, float prob_given_benign)
{
    float numerator = prob_given_evil * prior;
    float benign = prob_given_benign * (1 - prior);
    float denominator = numerator + benign;

    return numerator / denominator;
}

static void
hex(const unsigned char *md, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[md[i] >> 4];
        out[2 * i + 1] = digits[md[i] & 15];
    }
    out[2 * n] = '\0';
}

/*
 * SHA-1, fetched once: with OpenSSL 3, EVP_sha1() in EVP_DigestInit_ex makes
 * an implicit fetch (a provider lookup under a lock) on every call, and a
 * bucket key is computed for every event poured. The fetched digest is
 * released at exit (after OpenSSL's own clean-up was registered, so before
 * it runs).
 */
static pthread_once_t sha1_once = PTHREAD_ONCE_INIT;
static const EVP_MD *sha1_md;

#if OPENSSL_VERSION_NUMBER >= 0x30000000L
static EVP_MD *sha1_fetched;

static void
sha1_release(void)
{
    EVP_MD_free(sha1_fetched);
    sha1_fetched = NULL;
}

static void
sha1_init(void)
{
    sha1_fetched = EVP_MD_fetch(NULL, "SHA1", NULL);
    if (sha1_fetched && atexit(sha1_release) != 0) {
        EVP_MD_free(sha1_fetched);
        sha1_fetched = NULL;
    }
    sha1_md = sha1_fetched ? sha1_fetched : EVP_sha1();
}
#else
static void
sha1_init(void)
{
    sha1_md = EVP_sha1();
}
#endif

int
bucket_key(const char *filter, const char *groupby, size_t groupbylen, const char *name,
           char out[41])
{
    static const unsigned char zero = 0;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int rc = -ENOMEM;

    if (ctx == NULL)
        return -ENOMEM;
    pthread_once(&sha1_once, sha1_init);
    if (EVP_DigestInit_ex(ctx, sha1_md, NULL) != 1 ||
        EVP_DigestUpdate(ctx, filter, strlen(filter)) != 1 ||
        EVP_DigestUpdate(ctx, &zero, 1) != 1 || EVP_DigestUpdate(ctx, groupby, groupbylen) != 1 ||
        EVP_DigestUpdate(ctx, &zero, 1) != 1 || EVP_DigestUpdate(ctx, name, strlen(name)) != 1 ||
        EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 20)
        goto out;
    hex(md, 20, out);
    rc = 0;
out:
    EVP_MD_CTX_free(ctx);
    return rc;
}

int
bucket_sha256_hex(const void *buf, size_t len, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;

    if (EVP_Digest(buf, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
        return -ENOMEM;
    hex(md, 32, out);
    return 0;
}
