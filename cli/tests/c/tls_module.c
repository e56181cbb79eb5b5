/* A module with a 1,000-byte thread-local array, for leak_dlopen_tls.c. */
__thread char tls_buffer[1000];

char *touch_tls(void) {
    tls_buffer[0] = 1;
    return tls_buffer;
}
