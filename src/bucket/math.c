/*
 * math.c - the arithmetic of a bucket, kept exactly as CrowdSec's Go does it
 * so overflow boundaries match to the nanosecond: golang.org/x/time/rate's
 * token bucket (CrowdSec's leaky limiter), the float32 bayesian update, and
 * the SHA-1 bucket key / SHA-256 scenario hash.
 */
/*
 * SHA1_Init/Update/Final are deprecated in OpenSSL 3 in favour of EVP, whose
 * per-call overhead dominates a hash this short; asking for the 1.1.1 API
 * keeps them without the deprecation warning. Must come before any OpenSSL
 * header.
 */
#define OPENSSL_API_COMPAT 0x10101000L

#include "common/common.h"

#include <openssl/evp.h>
#include <openssl/sha.h>
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
 * SHA-1 through OpenSSL's low-level interface (see the top of the file): a
 * bucket key is computed for every target of every event, and the EVP
 * interface costs a context allocation, a provider dispatch and a free per
 * key, several times the hashing of its ~100 bytes itself; SHA1_Update runs
 * the same assembly (SHA-NI where the CPU has it) on a context on the stack.
 */
int
bucket_key(const char *filter, const char *groupby, size_t groupbylen, const char *name,
           char out[41])
{
    static const unsigned char zero = 0;
    unsigned char md[SHA_DIGEST_LENGTH];
    SHA_CTX ctx;

    if (SHA1_Init(&ctx) != 1 || SHA1_Update(&ctx, filter, strlen(filter)) != 1 ||
        SHA1_Update(&ctx, &zero, 1) != 1 || SHA1_Update(&ctx, groupby, groupbylen) != 1 ||
        SHA1_Update(&ctx, &zero, 1) != 1 || SHA1_Update(&ctx, name, strlen(name)) != 1 ||
        SHA1_Final(md, &ctx) != 1)
        return -ENOMEM;
    hex(md, SHA_DIGEST_LENGTH, out);
    return 0;
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
