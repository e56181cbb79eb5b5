/* cfrac: the allocation pattern of a bignum program (after the cfrac factoring program of
 * mimalloc-bench, which factors a 44-digit number with continued fractions). Here the same
 * kind of computation with a small bignum library of its own: the continued-fraction expansion
 * of sqrt(N) for a 128-bit N, with the convergents mod N and trial division of each residue by
 * a factor base of small primes. Every bignum is immutable and gets a malloc'd block of its
 * own, freed as soon as it is no longer needed: millions of small, short-lived blocks of a few
 * sizes, freed mostly in reverse order. */
#include "common.h"

typedef struct {
    int len;            /* limbs in use; 0 for zero */
    uint32_t limb[];    /* least significant first */
} big;

static big *big_new(int len) {
    big *b = check_ptr(malloc(sizeof(big) + (size_t)(len > 0 ? len : 1) * sizeof(uint32_t)), "big");
    b->len = len;
    return b;
}

static big *trim(big *b) {
    while (b->len > 0 && b->limb[b->len - 1] == 0) b->len--;
    return b;
}

static big *big_from(uint64_t value) {
    big *b = big_new(2);
    b->limb[0] = (uint32_t)value;
    b->limb[1] = (uint32_t)(value >> 32);
    return trim(b);
}

static big *big_copy(const big *a) {
    big *r = big_new(a->len);
    memcpy(r->limb, a->limb, (size_t)a->len * sizeof(uint32_t));
    return r;
}

static int big_cmp(const big *a, const big *b) {
    if (a->len != b->len) return a->len < b->len ? -1 : 1;
    for (int i = a->len - 1; i >= 0; i--)
        if (a->limb[i] != b->limb[i]) return a->limb[i] < b->limb[i] ? -1 : 1;
    return 0;
}

static big *big_add(const big *a, const big *b) {
    if (a->len < b->len) { const big *t = a; a = b; b = t; }
    big *r = big_new(a->len + 1);
    uint64_t carry = 0;
    for (int i = 0; i < a->len; i++) {
        carry += (uint64_t)a->limb[i] + (i < b->len ? b->limb[i] : 0);
        r->limb[i] = (uint32_t)carry;
        carry >>= 32;
    }
    r->limb[a->len] = (uint32_t)carry;
    return trim(r);
}

/* a - b, for a >= b. */
static big *big_sub(const big *a, const big *b) {
    big *r = big_new(a->len);
    int64_t borrow = 0;
    for (int i = 0; i < a->len; i++) {
        int64_t d = (int64_t)a->limb[i] - (i < b->len ? b->limb[i] : 0) - borrow;
        borrow = d < 0;
        r->limb[i] = (uint32_t)(d + (borrow << 32));
    }
    return trim(r);
}

static big *big_mul(const big *a, const big *b) {
    big *r = big_new(a->len + b->len);
    memset(r->limb, 0, (size_t)r->len * sizeof(uint32_t));
    for (int i = 0; i < a->len; i++) {
        uint64_t carry = 0;
        for (int j = 0; j < b->len; j++) {
            carry += (uint64_t)a->limb[i] * b->limb[j] + r->limb[i + j];
            r->limb[i + j] = (uint32_t)carry;
            carry >>= 32;
        }
        r->limb[i + b->len] = (uint32_t)carry;
    }
    return trim(r);
}

/* Quotient by a small divisor; the remainder goes to *rest. */
static big *big_divsmall(const big *a, uint32_t d, uint32_t *rest) {
    big *q = big_new(a->len);
    uint64_t r = 0;
    for (int i = a->len - 1; i >= 0; i--) {
        r = (r << 32) | a->limb[i];
        q->limb[i] = (uint32_t)(r / d);
        r %= d;
    }
    *rest = (uint32_t)r;
    return trim(q);
}

/* Knuth's algorithm D: quotient and remainder of a / b (b != 0); either out may be NULL. */
static void big_divmod(const big *a, const big *b, big **quotient, big **remainder) {
    if (big_cmp(a, b) < 0) {
        if (quotient) *quotient = big_from(0);
        if (remainder) *remainder = big_copy(a);
        return;
    }
    if (b->len == 1) {
        uint32_t rest;
        big *q = big_divsmall(a, b->limb[0], &rest);
        if (quotient) *quotient = q; else free(q);
        if (remainder) *remainder = big_from(rest);
        return;
    }
    int n = b->len, m = a->len - b->len;
    int shift = __builtin_clz(b->limb[n - 1]);
    big *u = big_new(a->len + 1), *v = big_new(n), *q = big_new(m + 1);
    for (int i = n - 1; i > 0; i--)
        v->limb[i] = (b->limb[i] << shift) | (shift ? (uint32_t)((uint64_t)b->limb[i - 1] >> (32 - shift)) : 0);
    v->limb[0] = b->limb[0] << shift;
    u->limb[a->len] = shift ? (uint32_t)((uint64_t)a->limb[a->len - 1] >> (32 - shift)) : 0;
    for (int i = a->len - 1; i > 0; i--)
        u->limb[i] = (a->limb[i] << shift) | (shift ? (uint32_t)((uint64_t)a->limb[i - 1] >> (32 - shift)) : 0);
    u->limb[0] = a->limb[0] << shift;
    for (int j = m; j >= 0; j--) {
        uint64_t top = ((uint64_t)u->limb[j + n] << 32) | u->limb[j + n - 1];
        uint64_t qhat = top / v->limb[n - 1], rhat = top % v->limb[n - 1];
        while (qhat >> 32 || qhat * v->limb[n - 2] > ((rhat << 32) | u->limb[j + n - 2])) {
            qhat--;
            rhat += v->limb[n - 1];
            if (rhat >> 32) break;
        }
        int64_t borrow = 0;
        uint64_t carry = 0;
        for (int i = 0; i < n; i++) {
            carry += qhat * v->limb[i];
            int64_t t = (int64_t)u->limb[i + j] - (int64_t)(uint32_t)carry - borrow;
            carry >>= 32;
            borrow = t < 0;
            u->limb[i + j] = (uint32_t)(t + (borrow << 32));
        }
        int64_t t = (int64_t)u->limb[j + n] - (int64_t)carry - borrow;
        u->limb[j + n] = (uint32_t)t;
        if (t < 0) {
            qhat--;
            uint64_t c = 0;
            for (int i = 0; i < n; i++) {
                c += (uint64_t)u->limb[i + j] + v->limb[i];
                u->limb[i + j] = (uint32_t)c;
                c >>= 32;
            }
            u->limb[j + n] += (uint32_t)c;
        }
        q->limb[j] = (uint32_t)qhat;
    }
    q->len = m + 1;
    if (quotient) *quotient = trim(q); else free(q);
    if (remainder) {
        big *r = big_new(n);
        for (int i = 0; i < n; i++)
            r->limb[i] = (u->limb[i] >> shift) | (shift ? (uint32_t)((uint64_t)u->limb[i + 1] << (32 - shift)) : 0);
        *remainder = trim(r);
    }
    free(u);
    free(v);
}

/* floor(sqrt(n)) by Newton's iteration. */
static big *big_isqrt(const big *n) {
    big *x = big_new(n->len / 2 + 1);
    memset(x->limb, 0, (size_t)x->len * sizeof(uint32_t));
    x->limb[x->len - 1] = 1u << 16;
    trim(x);
    for (;;) {
        big *q;
        big_divmod(n, x, &q, NULL);
        big *s = big_add(x, q);
        uint32_t ignored;
        big *y = big_divsmall(s, 2, &ignored);
        free(q);
        free(s);
        if (big_cmp(y, x) >= 0) {
            free(y);
            return x;
        }
        free(x);
        x = y;
    }
}

int main(int argc, char **argv) {
    long scale;
    int threads;
    bench_args(argc, argv, &scale, &threads);
    long steps = scaled(300000, scale, 1000);
    /* N = p * q with two 64-bit primes. */
    big *p = big_from(18446744073709551557ull), *q = big_from(18446744073709551533ull);
    big *n = big_mul(p, q);
    free(p);
    free(q);
    uint32_t primes[200];
    int nprimes = 0;
    for (uint32_t c = 2; nprimes < 200; c++) {
        int prime = 1;
        for (int i = 0; i < nprimes && primes[i] * primes[i] <= c; i++)
            if (c % primes[i] == 0) prime = 0;
        if (prime) primes[nprimes++] = c;
    }
    big *a0 = big_isqrt(n);
    big *m = big_from(0), *d = big_from(1), *a = big_copy(a0);
    big *p_prev = big_from(1), *p_cur = big_copy(a0);
    long smooth = 0;
    unsigned long sum = 0;
    for (long k = 0; k < steps; k++) {
        /* m' = d * a - m; d' = (N - m'^2) / d; a' = (a0 + m') / d'. */
        big *da = big_mul(d, a);
        big *m_next = big_sub(da, m);
        free(da);
        big *mm = big_mul(m_next, m_next);
        big *diff = big_sub(n, mm);
        free(mm);
        big *d_next;
        big_divmod(diff, d, &d_next, NULL);
        free(diff);
        big *s = big_add(a0, m_next);
        big *a_next;
        big_divmod(s, d_next, &a_next, NULL);
        free(s);
        free(m);
        free(d);
        free(a);
        m = m_next;
        d = d_next;
        a = a_next;
        /* Convergent numerators mod N. */
        big *ap = big_mul(a, p_cur);
        big *t = big_add(ap, p_prev);
        free(ap);
        big *p_next;
        big_divmod(t, n, NULL, &p_next);
        free(t);
        free(p_prev);
        p_prev = p_cur;
        p_cur = p_next;
        /* Trial division of the residue d by the factor base. */
        big *rest = big_copy(d);
        for (int i = 0; i < nprimes && rest->len > 0; i++) {
            uint32_t r;
            big *quot = big_divsmall(rest, primes[i], &r);
            while (r == 0 && quot->len > 0) {
                free(rest);
                rest = quot;
                quot = big_divsmall(rest, primes[i], &r);
            }
            free(quot);
        }
        if (rest->len == 1 && rest->limb[0] == 1) smooth++;
        sum += rest->len ? rest->limb[0] : 0;
        free(rest);
    }
    printf("cfrac: %ld steps, %ld smooth residues, checksum %lu\n", steps, smooth, sum);
    free(m); free(d); free(a); free(a0); free(p_prev); free(p_cur); free(n);
    return 0;
}
