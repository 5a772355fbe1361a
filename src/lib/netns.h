/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A container's own network namespace: its loopback, and how it crosses a
 * checkpoint (netns.c). */
#ifndef FERRY_NETNS_H
#define FERRY_NETNS_H

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"
#include "spec.h"

/* Bring lo up in the calling task's network namespace (runc and crun do
 * so in every new one: 127.0.0.1 and ::1 then work). */
int ferry_netns_lo_up(ferry_error_t *err);

/* The container's own network namespace (no path) holds nothing a fresh
 * one would not: only lo, no legacy iptables table, no CAP_NET_ADMIN in
 * the tree's bounding set, no hook that could have set it up.  Then it is
 * dumped empty, as runc always does. */
bool ferry_cr_netns_pristine(pid_t pid, const ferry_spec_t *spec);
/* In the network namespace of pid (restored empty): lo up and the
 * config's net.* sysctls, what a fresh container's init does. */
int ferry_cr_netns_setup(pid_t pid, const ferry_spec_t *spec, ferry_error_t *err);

#endif
