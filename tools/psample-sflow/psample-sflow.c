/* SPDX-License-Identifier: MIT */
/*
 * psample-sflow: exports psample packet samples as sFlow version 5 datagrams
 * (https://sflow.org/sflow_version_5.txt) to one or more UDP collectors; psample-sflow.8 is the
 * user's documentation. A separate program, so the drop-in psample tool keeps exactly the
 * original's behaviour. The parts, one job each:
 *   options.c     the command line;
 *   collectors.c  collector names resolved, datagrams sent;
 *   datagrams.c   one datagram per sub-agent, filled in place, sent when full or a second old;
 *   samples.c     flow samples (from psample samples) and counter samples, encoded in sFlow XDR;
 *   sources.c     data sources per (namespace, ifIndex) and their counter poll schedule;
 *   interfaces.c  interface counters and state from rtnetlink.
 * This file is the main loop: receive, flush, poll every second, and the signals.
 * The receive loop allocates nothing per sample.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "psample.h"

#include "collectors.h"
#include "datagrams.h"
#include "interfaces.h"
#include "options.h"
#include "samples.h"
#include "sources.h"

static volatile sig_atomic_t stop, want_stats, want_reload;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		want_stats = 1;
	else if (sig == SIGHUP)
		want_reload = 1;
	else
		stop = 1;
}

static void print_stats(const struct psample_sub *sub)
{
	struct psample_stats st;
	int rc = psample_stats(sub, &st, sizeof st);

	if (rc < 0) {
		fprintf(stderr, "psample-sflow: stats: %s\n", psample_strerror(rc));
		return;
	}
	fprintf(stderr,
		"psample-sflow: samples=%" PRIu64 " exported=%" PRIu64 " skipped=%" PRIu64
		" datagrams=%" PRIu64 " counter_samples=%" PRIu64 " poll_errors=%" PRIu64
		" delivered=%" PRIu64 " kernel_drops=%" PRIu64 " seq_gaps=%" PRIu64
		" decode_errors=%" PRIu64 "\n",
		xs.samples, xs.exported, xs.skipped, datagrams_built, xs.counter_samples, xs.poll_errors,
		st.delivered, st.kernel_drops, st.seq_gaps, st.decode_errors);
	collectors_print_stats(stderr);
}

/* One encoding per run: expanded when --expanded says so, or when an interface of this
 * namespace already has an index the compact encoding cannot carry. */
static void choose_encoding(void)
{
	int64_t max_index;

	if (o.expanded)
		return;
	max_index = interfaces_max_index();
	if (max_index > 0xffffff) {
		o.expanded = 1;
		fprintf(stderr, "psample-sflow: interface index %" PRId64 " needs the expanded encoding: "
				"every sample is expanded\n", max_index);
	}
}

/* SIGHUP: the collectors' names resolved again, the interface table read again. */
static void reload(void)
{
	collectors_resolve_again();
	samples_forget_interfaces();
	int64_t max_index = interfaces_max_index();

	if (!o.expanded && max_index > 0xffffff)
		fprintf(stderr, "psample-sflow: SIGHUP: interface index %" PRId64 " needs the expanded "
				"encoding; its samples are skipped: restart with --expanded\n", max_index);
	fprintf(stderr, "psample-sflow: SIGHUP: collectors resolved, interface table read again\n");
}

static void to_timespec(uint64_t ms, struct timespec *ts)
{
	ts->tv_sec = (time_t)(ms / 1000);
	ts->tv_nsec = (long)(ms % 1000) * 1000000;
}

int main(int argc, char **argv)
{
	struct psample_opts opts = {
		.size = sizeof opts,
		/* Userspace producers (VPP) too, like the psample tool; follow a module reload. */
		.flags = PSAMPLE_SUB_NONBLOCK | PSAMPLE_SUB_ACCEPT_USERSPACE | PSAMPLE_SUB_RESUBSCRIBE,
	};
	static struct psample_packet pkts[64];
	struct psample_sub *sub;
	int rc, status = 0;

	srandom((unsigned)time(NULL) ^ (unsigned)getpid());
	if (parse_args(argc, argv) < 0)
		return 2;
	datagrams_init();
	choose_encoding();
	opts.groups = o.n_groups ? o.groups : NULL;
	opts.n_groups = o.n_groups;
	if (o.all_netns)
		opts.flags |= PSAMPLE_SUB_ALL_NETNS;

	/* Signals are blocked except inside ppoll(): none is lost between a check and the wait. */
	sigset_t handled, wait_mask;
	struct sigaction sa = { .sa_handler = on_signal };
	int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGUSR1 };

	sigemptyset(&handled);
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
		sigaddset(&handled, sigs[i]);
		sigaction(sigs[i], &sa, NULL);
	}
	sigprocmask(SIG_BLOCK, &handled, &wait_mask);
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		sigdelset(&wait_mask, sigs[i]);

	rc = psample_subscribe(&sub, &opts);
	if (rc < 0) {
		fprintf(stderr, "psample-sflow: subscribe: %s\n", psample_strerror(rc));
		return 1;
	}
	struct pollfd pfd = { .fd = psample_fd(sub), .events = POLLIN };
	uint64_t next_tick = now_ms() + 1000; /* counter polls: once a second */

	while (!stop) {
		if (want_stats) {
			want_stats = 0;
			print_stats(sub);
		}
		if (want_reload) {
			want_reload = 0;
			reload();
		}
		uint64_t now = now_ms();

		if (now >= next_tick) {
			/* One tick, also after a stall: a source is never polled twice at once. */
			sources_tick(o.polling_interval, export_counter_sample);
			while (next_tick <= now)
				next_tick += 1000;
		}
		datagrams_flush(0);
		rc = psample_recv(sub, pkts, sizeof pkts / sizeof pkts[0], sizeof pkts[0]);
		if (rc == -EAGAIN || rc == -EINTR) {
			struct timespec ts, *timeout = NULL;
			uint64_t due = datagrams_next_due();

			if (sources_polled() && next_tick < due)
				due = next_tick;
			if (due != UINT64_MAX) {
				now = now_ms();
				to_timespec(due > now ? due - now : 0, &ts);
				timeout = &ts;
			}
			if (ppoll(&pfd, 1, timeout, &wait_mask) < 0 && errno != EINTR) {
				perror("psample-sflow: poll");
				status = 1;
				break;
			}
			continue;
		}
		if (rc < 0) {
			fprintf(stderr, "psample-sflow: receive: %s\n", psample_strerror(rc));
			status = 1;
			break;
		}
		for (int i = 0; i < rc; i++) {
			if (pkts[i].kind != PSAMPLE_KIND_SAMPLE)
				continue;
			export_flow_sample(&pkts[i]);
			if (o.count && xs.samples >= o.count) {
				stop = 1;
				break;
			}
		}
	}
	datagrams_flush(1);
	if (o.stats)
		print_stats(sub);
	psample_close(sub);
	return status;
}
