#include "api_proto.h"

#include <stdlib.h>
#include <string.h>

/* Appends the newline that frames a message; frees text. */
static char *api_line(char *text)
{
    size_t n;
    char *line;

    if (text == NULL)
        return NULL;
    n = strlen(text);
    line = malloc(n + 2);
    if (line != NULL) {
        memcpy(line, text, n);
        line[n] = '\n';
        line[n + 1] = '\0';
    }
    cJSON_free(text);
    return line;
}

char *api_reply_ok(cJSON *result)
{
    cJSON *o = cJSON_CreateObject();
    char *line;

    if (o == NULL) {
        cJSON_Delete(result);
        return NULL;
    }
    cJSON_AddBoolToObject(o, "ok", 1);
    cJSON_AddItemToObject(o, "result", result != NULL ? result : cJSON_CreateNull());
    line = api_line(cJSON_PrintUnformatted(o));
    cJSON_Delete(o);
    return line;
}

char *api_reply_error(const char *code, const char *message)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *e;
    char *line;

    if (o == NULL)
        return NULL;
    cJSON_AddBoolToObject(o, "ok", 0);
    e = cJSON_AddObjectToObject(o, "error");
    if (e != NULL) {
        cJSON_AddStringToObject(e, "code", code);
        cJSON_AddStringToObject(e, "message", message);
    }
    line = api_line(cJSON_PrintUnformatted(o));
    cJSON_Delete(o);
    return line;
}

char *api_request(const char *cmd, const cJSON *args)
{
    cJSON *o = args != NULL ? cJSON_Duplicate(args, 1) : cJSON_CreateObject();
    char *line;

    if (o == NULL)
        return NULL;
    cJSON_DeleteItemFromObject(o, "cmd");
    cJSON_AddStringToObject(o, "cmd", cmd);
    line = api_line(cJSON_PrintUnformatted(o));
    cJSON_Delete(o);
    return line;
}
