/* Pruning a call tree: a bounded copy of a profile for display.
 *
 * A large profile (say a million call-tree nodes) is too big for an HTML
 * report. Pruning keeps the functions as they are and folds the call tree's
 * small nodes into "[other]" nodes, so the result is small and every total
 * the viewer shows stays exact.
 *
 * Guarantees on dst (beyond the invariants of pg_profile.h, which hold):
 * - every function of src is in dst at the same index with its histogram
 *   copied; one function "[other]" (file "~", line 0, kind builtin) is
 *   interned when a node is merged (it may already exist in src);
 * - a kept node has its src values; its parent is kept too;
 * - the nodes merged under one kept parent become one "[other]" child of it
 *   (an "[other]" child kept from src absorbs them), with inclusive and
 *   calls and exc_exits summed over the merged subtree roots, and exclusive
 *   and events summed over the whole merged subtrees: every kept node's
 *   inclusive, and the total, are unchanged;
 * - run numbers and metadata are copied.
 */
#ifndef PG_PRUNE_H
#define PG_PRUNE_H

#include <stdint.h>

#include "pg_profile.h"

/* Name of the function that stands for merged nodes. */
#define PG_PRUNE_OTHER_NAME "[other]"

/* Build dst (uninitialised; initialised here, released again on error) from
 * src. total is the sum of the root's children's inclusive. A non-root node
 * is kept when its parent is kept, its inclusive >= min_fraction x total,
 * and, when max_nodes > 0, it is among the max_nodes largest nodes by
 * inclusive (ties: the lower index first, so a parent wins over its child).
 * dst then has at most 2 x max_nodes + 2 nodes (the root, the kept ones
 * and at most one "[other]" under each of those). min_fraction <= 0 and max_nodes == 0
 * keep everything. Returns PG_OK, PG_ERR_ARG (min_fraction NaN or > 1),
 * PG_ERR_NOMEM or PG_ERR_LIMIT. */
int pg_profile_prune(pg_profile_t *dst, const pg_profile_t *src, double min_fraction,
                     uint32_t max_nodes);

#endif
