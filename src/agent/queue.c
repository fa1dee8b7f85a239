/*
 * queue.c - the bounded FIFO between pipeline stages. A producer that finds
 * it full waits (and the wait is counted): that is the back-pressure that
 * keeps a replay of any size in bounded memory without dropping anything.
 */
#include "agent/internal.h"

int
agent_queue_init(struct agent_queue *q, size_t cap)
{
    memset(q, 0, sizeof(*q));
    q->ring = calloc(cap ? cap : 1, sizeof(*q->ring));
    if (q->ring == NULL)
        return -ENOMEM;
    q->cap = cap ? cap : 1;
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->not_empty, NULL);
    pthread_cond_init(&q->not_full, NULL);
    return 0;
}

void
agent_queue_destroy(struct agent_queue *q)
{
    if (q->ring == NULL)
        return;
    free(q->ring);
    q->ring = NULL;
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->not_empty);
    pthread_cond_destroy(&q->not_full);
}

int
agent_queue_push(struct agent_queue *q, void *item)
{
    int rc = 0;

    pthread_mutex_lock(&q->mu);
    if (q->len == q->cap && !q->closed)
        q->waits++;
    while (q->len == q->cap && !q->closed)
        pthread_cond_wait(&q->not_full, &q->mu);
    if (q->closed) {
        rc = -EPIPE;
        goto out;
    }
    q->ring[(q->head + q->len) % q->cap] = item;
    q->len++;
    pthread_cond_signal(&q->not_empty);
out:
    pthread_mutex_unlock(&q->mu);
    return rc;
}

void *
agent_queue_pop(struct agent_queue *q)
{
    void *item = NULL;

    pthread_mutex_lock(&q->mu);
    while (q->len == 0 && !q->closed)
        pthread_cond_wait(&q->not_empty, &q->mu);
    if (q->len > 0) {
        item = q->ring[q->head];
        q->head = (q->head + 1) % q->cap;
        q->len--;
        pthread_cond_signal(&q->not_full);
    }
    pthread_mutex_unlock(&q->mu);
    return item;
}

void
agent_queue_close(struct agent_queue *q)
{
    pthread_mutex_lock(&q->mu);
    q->closed = true;
    pthread_cond_broadcast(&q->not_empty);
    pthread_cond_broadcast(&q->not_full);
    pthread_mutex_unlock(&q->mu);
}
