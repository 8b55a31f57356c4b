#include "pg_prune.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pg_error.h"

/* A node's sort key for the max_nodes cut. */
typedef struct prune_rank {
    uint64_t inclusive; /* the node's inclusive time */
    uint32_t index;     /* the node's index in src */
} prune_rank_t;

/* Working arrays of one prune, indexed by src node, src->node_count
 * entries each; all owned. */
typedef struct prune_work {
    prune_rank_t *order; /* non-root nodes, largest first (max_nodes only) */
    uint8_t *kept;       /* 1 when the node is kept */
    uint32_t *new_index; /* kept node: its dst index; merged node: the src
                            index of the root of the merged subtree it is in */
    uint32_t *other_of;  /* kept node: dst index of its "[other]" child, or PG_NONE */
} prune_work_t;

/* Larger inclusive first; on a tie the lower index (a parent before its child). */
static int compare_larger_first(const void *left, const void *right)
{
    const prune_rank_t *a = left;
    const prune_rank_t *b = right;
    if (a->inclusive != b->inclusive)
        return a->inclusive > b->inclusive ? -1 : 1;
    return a->index < b->index ? -1 : (a->index > b->index);
}

/* Decide which nodes are kept: a forward scan, so parents come first. */
static int mark_kept(prune_work_t *work, const pg_profile_t *src, double min_fraction,
                     uint32_t max_nodes)
{
    uint32_t count = src->node_count;
    uint64_t total = 0;
    for (uint32_t i = 1; i < count; i++)
        if (src->nodes[i].parent == PG_ROOT)
            total += src->nodes[i].inclusive;
    double threshold = min_fraction > 0 ? min_fraction * (double)total : 0.0;
    for (uint32_t i = 1; i < count; i++)
        work->kept[i] = (double)src->nodes[i].inclusive >= threshold;
    if (max_nodes > 0 && max_nodes < count - 1) {
        work->order = malloc((size_t)count * sizeof *work->order);
        if (!work->order)
            return PG_ERR_NOMEM;
        for (uint32_t i = 1; i < count; i++)
            work->order[i - 1] = (prune_rank_t){src->nodes[i].inclusive, i};
        qsort(work->order, count - 1, sizeof *work->order, compare_larger_first);
        for (uint32_t rank = max_nodes; rank < count - 1; rank++)
            work->kept[work->order[rank].index] = 0;
    }
    work->kept[0] = 1;
    for (uint32_t i = 1; i < count; i++)
        if (!work->kept[src->nodes[i].parent])
            work->kept[i] = 0;
    return PG_OK;
}

/* Strings, functions (with histograms), metadata, run numbers and line
 * heat; the call
 * tree is left with its root only. */
static int copy_all_but_nodes(pg_profile_t *dst, const pg_profile_t *src)
{
    int rc;
    for (uint32_t i = 1; i < src->strings.count; i++) {
        int64_t index = pg_strtab_intern(&dst->strings, src->strings.strings[i],
                                         src->strings.lengths[i]);
        if (index < 0)
            return (int)index;
    }
    for (uint32_t i = 0; i < src->func_count; i++) {
        const pg_func_t *f = &src->funcs[i];
        if ((rc = pg_profile_func_append(dst, f->name, f->file, f->line, f->kind)) < 0 ||
            (rc = pg_hist_merge(&dst->funcs[i].hist, &f->hist)) < 0)
            return rc;
    }
    for (uint32_t i = 0; i < src->meta_count; i++)
        if ((rc = pg_profile_meta_set(dst, src->meta[i].key, src->meta[i].value)) < 0)
            return rc;
    for (uint32_t i = 0; i < src->metric_count; i++) {
        const pg_metric_t *m = &src->metrics[i];
        if ((rc = pg_profile_metric_append(dst, m->name, m->unit, m->merge)) < 0)
            return rc;
        dst->metrics[i].values[0] = m->values[0];
    }
    dst->run = src->run;
    dst->nodes[0] = src->nodes[0];
    /* Functions keep their indexes, so line heat is copied as it is. */
    pg_line_table_release(&dst->lines);
    if ((rc = pg_line_table_copy(&dst->lines, &src->lines)) < 0)
        return rc;
    return pg_timeline_copy(&dst->timeline, &src->timeline);
}

/* Append the kept nodes in src order (parents before children). */
static int append_kept(pg_profile_t *dst, const pg_profile_t *src, prune_work_t *work,
                       uint32_t other_func)
{
    work->new_index[0] = 0;
    work->other_of[0] = PG_NONE;
    for (uint32_t i = 1; i < src->node_count; i++) {
        if (!work->kept[i])
            continue;
        pg_node_t node = src->nodes[i];
        node.parent = work->new_index[node.parent];
        int rc = pg_profile_node_append(dst, &node);
        if (rc < 0)
            return rc;
        work->new_index[i] = dst->node_count - 1;
        work->other_of[i] = PG_NONE;
        for (uint32_t m = 0; m < src->metric_count; m++)
            dst->metrics[m].values[dst->node_count - 1] = src->metrics[m].values[i];
        if (node.func == other_func)
            work->other_of[src->nodes[i].parent] = dst->node_count - 1;
    }
    return PG_OK;
}

/* Fold every merged node into its kept ancestor's "[other]" child. */
static int fold_merged(pg_profile_t *dst, const pg_profile_t *src, prune_work_t *work,
                       uint32_t other_func)
{
    for (uint32_t i = 1; i < src->node_count; i++) {
        if (work->kept[i])
            continue;
        const pg_node_t *node = &src->nodes[i];
        uint32_t subtree_root = work->kept[node->parent] ? i : work->new_index[node->parent];
        work->new_index[i] = subtree_root;
        uint32_t kept_parent = src->nodes[subtree_root].parent;
        if (work->other_of[kept_parent] == PG_NONE) {
            pg_node_t other = {.parent = work->new_index[kept_parent], .func = other_func};
            int rc = pg_profile_node_append(dst, &other);
            if (rc < 0)
                return rc;
            work->other_of[kept_parent] = dst->node_count - 1;
        }
        uint32_t other_index = work->other_of[kept_parent];
        for (uint32_t m = 0; m < src->metric_count; m++) {
            pg_metric_t *metric = &dst->metrics[m];
            metric->values[other_index] = pg_metric_combine(
                metric->merge, metric->values[other_index], src->metrics[m].values[i]);
        }
        pg_node_t *other = &dst->nodes[other_index];
        other->exclusive += node->exclusive;
        other->events += node->events;
        if (subtree_root == i) {
            other->inclusive += node->inclusive;
            other->calls += node->calls;
            other->exc_exits += node->exc_exits;
        }
    }
    /* A src whose recorded times do not add up exactly must still give
     * exclusive <= inclusive. */
    for (uint32_t i = 1; i < dst->node_count; i++)
        if (dst->nodes[i].func == other_func && dst->nodes[i].exclusive > dst->nodes[i].inclusive)
            dst->nodes[i].exclusive = dst->nodes[i].inclusive;
    return PG_OK;
}

int pg_profile_prune(pg_profile_t *dst, const pg_profile_t *src, double min_fraction,
                     uint32_t max_nodes)
{
    if (isnan(min_fraction) || min_fraction > 1.0)
        return PG_ERR_ARG;
    prune_work_t work = {0};
    int rc = pg_profile_init(dst);
    if (rc < 0)
        return rc;
    size_t count = src->node_count;
    work.kept = calloc(count, 1);
    work.new_index = malloc(count * sizeof(uint32_t));
    work.other_of = malloc(count * sizeof(uint32_t));
    rc = PG_ERR_NOMEM;
    if (!work.kept || !work.new_index || !work.other_of)
        goto error;
    if ((rc = mark_kept(&work, src, min_fraction, max_nodes)) < 0 ||
        (rc = copy_all_but_nodes(dst, src)) < 0)
        goto error;
    uint32_t other_func = PG_NONE;
    for (uint32_t i = 1; i < count; i++) {
        if (!work.kept[i]) {
            int64_t index = pg_profile_func_intern(dst, PG_PRUNE_OTHER_NAME,
                                                   strlen(PG_PRUNE_OTHER_NAME), "~", 1, 0,
                                                   PG_FUNC_BUILTIN);
            if (index < 0) {
                rc = (int)index;
                goto error;
            }
            other_func = (uint32_t)index;
            break;
        }
    }
    if ((rc = append_kept(dst, src, &work, other_func)) < 0 ||
        (rc = fold_merged(dst, src, &work, other_func)) < 0)
        goto error;
    rc = PG_OK;
    goto done;
error:
    pg_profile_release(dst);
done:
    free(work.order);
    free(work.kept);
    free(work.new_index);
    free(work.other_of);
    return rc;
}
