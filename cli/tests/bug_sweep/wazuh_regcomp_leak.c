/* https://github.com/wazuh/wazuh/pull/5038
 * wm_vuldet_normalize_date(): three regex_t from regcomp() are freed without regfree(): the
 * compiled patterns' internal blocks are lost. */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>

int main(void) {
    regex_t *r_timestamp = malloc(sizeof(regex_t));
    regcomp(r_timestamp, "^[0-9]{4}-[0-9]{2}-[0-9]{2}$", REG_EXTENDED);
    int m = regexec(r_timestamp, "2020-05-13", 0, NULL, 0);
    printf("%d\n", m);
    free(r_timestamp); /* the bug: no regfree() */
    return 0;
}
