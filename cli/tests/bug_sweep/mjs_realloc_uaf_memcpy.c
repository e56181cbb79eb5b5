/* https://github.com/cesanta/mjs/issues/73
 * mjs_string_slice(): a pointer into the string buffer is kept while embed_string() grows the
 * buffer with realloc; memcpy then reads 35 bytes from the freed old buffer (59 bytes
 * inside a 107-byte block). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mbuf {
    char *buf;
    size_t len, size;
};

static void mbuf_append(struct mbuf *m, const char *data, size_t n) {
    if (m->len + n > m->size) {
        m->size = (m->len + n) * 2;
        m->buf = realloc(m->buf, m->size);
    }
    memmove(m->buf + m->len, data, n); /* data may point into the old buffer */
    m->len += n;
}

int main(void) {
    struct mbuf m = {malloc(107), 0, 107};
    memset(m.buf, 'a', 107);
    m.len = 107;
    const char *slice = m.buf + 59;                          /* a slice of the string */
    mbuf_append(&m, "x", 1);                                 /* grows: moves the buffer */
    char tmp[64];
    memcpy(tmp, slice, 35); /* the bug */
    tmp[35] = 0;
    printf("%zu %c\n", strlen(tmp), tmp[0]);
    free(m.buf);
    return 0;
}
