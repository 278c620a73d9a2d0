/*
 * fuzz_config: the config loader on arbitrary text. Every input either parses into a
 * config that serialises back and parses again, or is refused with an error message;
 * nothing crashes, leaks or reads out of bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1), err[512];
    struct lbd_config *cfg = NULL;

    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    if (config_parse(text, &cfg, err, sizeof(err)) == 0) {
        /* A config that was accepted round-trips through its JSON. */
        cJSON *j = config_to_json(cfg);
        char *again = cJSON_PrintUnformatted(j);
        struct lbd_config *cfg2 = NULL;
        if (again == NULL || config_parse(again, &cfg2, err, sizeof(err)) != 0)
            abort();
        config_free(cfg2);
        free(again);
        cJSON_Delete(j);
        config_free(cfg);
    } else if (err[0] == '\0') {
        abort(); /* a refusal always says why */
    }
    free(text);
    return 0;
}
