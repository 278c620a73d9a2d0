#include "base/slot_stack.h"

#include <rte_malloc.h>

#include "err.h"

int slot_stack_init(struct slot_stack *s, const char *name, uint32_t capacity, int socket)
{
    s->idx = rte_malloc_socket(name, (size_t)capacity * sizeof(*s->idx), 0, socket);
    if (s->idx == NULL)
        return LBD_ENOMEM;
    for (uint32_t i = 0; i < capacity; i++)
        s->idx[i] = capacity - 1 - i;
    s->n_free = capacity;
    s->capacity = capacity;
    return 0;
}

void slot_stack_fini(struct slot_stack *s)
{
    rte_free(s->idx);
    s->idx = NULL;
    s->n_free = 0;
}
