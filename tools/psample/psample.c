/* SPDX-License-Identifier: MIT */
/*
 * psample: a drop-in for the `psample` tool of Mellanox's libpsample, on this library.
 *
 * Same options and the same output, byte for byte: the kernel's selftests parse it
 * (drivers/net/netdevsim/psample.sh greps "in-ifindex N ", drivers/net/mlxsw/tc_sample.sh takes
 * `cut -d ' ' -f 16` as out-tc-occ). The differences kept are fixes of the original's bugs, listed
 * in psample.8 ("DIFFERENCES FROM LIBPSAMPLE'S PSAMPLE"). On top: --count, --json, --stats,
 * --all-netns, and a pcap writer (LINKTYPE_LINUX_SLL2: direction and interface kept, or Ethernet)
 * with the kernel's timestamps. See psample.8.
 *
 * This file is the main loop; options.c parses the command line, output.c prints, pcap.c writes
 * --write's file. Built with PSAMPLE_TOOL_PCAP=0 (make PCAP=no), it needs no libpcap and --write
 * fails.
 */
#define _GNU_SOURCE /* ppoll */

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include <psample.h>

#include "options.h"
#include "output.h"
#include "pcap.h"

/* stop_signal: the signal that stopped it, raised again on exit (as the original dies of it). */
static volatile sig_atomic_t stop, stop_signal, want_stats;

static void on_signal(int sig)
{
	if (sig == SIGUSR1) {
		want_stats = 1;
	} else {
		stop = 1;
		stop_signal = sig;
	}
}

static int list_groups(void)
{
	struct psample_group_info *g = NULL;
	size_t total = 0;
	int n;

	/* Groups can come and go between the calls: retry while the array is too small. */
	for (int tries = 0; tries < 5; tries++) {
		size_t cap = total + 16;
		struct psample_group_info *bigger = realloc(g, cap * sizeof *g);

		if (!bigger) {
			free(g);
			return fail("list groups", -ENOMEM);
		}
		g = bigger;
		n = psample_list_groups(NULL, g, cap, sizeof *g, &total);
		if (n < 0) {
			free(g);
			return fail("list groups", n);
		}
		if (total <= cap)
			break;
	}
	for (int i = 0; i < n; i++) {
		if (opt.json)
			printf("{\"group\":%" PRIu32 ",\"refcount\":%" PRIu32 ",\"seq\":%" PRIu32 "}\n",
			       g[i].group, g[i].refcount, g[i].next_seq);
		else {
			if (i == 0) /* as the original: no header when there are no groups */
				printf("%-15s %-15s %-15s\n", "Group Num", "Refcount", "Group Seq");
			printf("%-15" PRId32 " %-15" PRId32 " %-15" PRId32 "\n", (int32_t)g[i].group,
			       (int32_t)g[i].refcount, (int32_t)g[i].next_seq);
		}
	}
	free(g);
	return 0;
}

/* Monitor or write until a signal, an error, or --count records. */
static int run(const uint32_t *groups, uint32_t n_groups)
{
	/* Like the original: every sender's samples (kernel and userspace producers such as VPP),
	 * and survive a reload of the psample module. */
	struct psample_opts opts = {
		.size = sizeof opts,
		.flags = PSAMPLE_SUB_NONBLOCK | PSAMPLE_SUB_ACCEPT_USERSPACE | PSAMPLE_SUB_RESUBSCRIBE,
		.groups = n_groups ? groups : NULL,
		.n_groups = n_groups,
	};
	struct pcap_out *dumper = NULL;
	struct psample_sub *sub;
	int rc;

	if (opt.all_netns)
		opts.flags |= PSAMPLE_SUB_ALL_NETNS;
	if (opt.mode == MODE_MONITOR && !opt.no_config)
		opts.flags |= PSAMPLE_SUB_CONFIG_EVENTS;
	if (opt.mode == MODE_MONITOR && opt.no_sample)
		opts.flags |= PSAMPLE_SUB_NO_SAMPLES;

	/* The signals are blocked except inside ppoll(): none is lost between a check of `stop`
	 * and the wait. */
	sigset_t handled, wait_mask;
	struct sigaction sa = { .sa_handler = on_signal }; /* no SA_RESTART */
	int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGUSR1 };

	sigemptyset(&handled);
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
		struct sigaction inherited;

		/* A stop signal ignored by the parent stays ignored, as with the original (which
		 * leaves them alone): `nohup psample` survives SIGHUP, and a shell script's
		 * background psample SIGINT. */
		if (sigs[i] != SIGUSR1 && sigaction(sigs[i], NULL, &inherited) == 0 &&
		    inherited.sa_handler == SIG_IGN)
			continue;
		sigaddset(&handled, sigs[i]);
		sigaction(sigs[i], &sa, NULL);
	}
	sigprocmask(SIG_BLOCK, &handled, &wait_mask);
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		sigdelset(&wait_mask, sigs[i]); /* even if the parent left them blocked */

	rc = psample_subscribe(&sub, &opts);
	if (rc < 0)
		return fail("subscribe", rc);

	if (opt.mode == MODE_WRITE) {
		dumper = pcap_out_open(opt.write, opt.linktype);
		if (!dumper) {
			psample_close(sub);
			return 1;
		}
	}

	struct psample_packet pkts[64];
	/* The handle's pollable descriptor; the signals reach the wait through ppoll's mask, so the
	 * tool needs no psample_wakeup(). */
	struct pollfd pfd = { .fd = psample_poll_fd(sub), .events = POLLIN };
	uint64_t left = opt.count;
	int status = 0;

	while (!stop && status == 0) {
		if (want_stats) {
			want_stats = 0;
			print_stats(sub);
		}
		rc = psample_recv(sub, pkts, sizeof pkts / sizeof pkts[0], sizeof pkts[0]);
		if (rc == -EAGAIN || rc == -EINTR) {
			/* EAGAIN also when only messages the library consumed itself were queued. */
			if (ppoll(&pfd, 1, NULL, &wait_mask) < 0 && errno != EINTR) {
				perror("psample: poll");
				status = 1;
			}
			continue;
		}
		if (rc < 0) {
			status = fail("receive", rc);
			break;
		}
		for (int i = 0; i < rc && status == 0; i++) {
			const struct psample_packet *p = &pkts[i];
			int sample = p->kind == PSAMPLE_KIND_SAMPLE;

			if (dumper) {
				if (!sample)
					continue;
				if (pcap_out_write(dumper, p) < 0) {
					perror("psample: write");
					status = 1;
				}
			} else {
				if (opt.json)
					print_json(p);
				else if (sample)
					print_sample(p);
				else
					print_event(p);
				/* One line at a time: readers (and `timeout psample > file`) see every
				 * record as it comes. */
				fflush(stdout);
			}
			/* --count counts samples, or group events when samples are not shown. */
			if (left && sample != (opt.mode == MODE_MONITOR && opt.no_sample) && --left == 0)
				stop = 1;
			if (stop)
				break;
		}
	}
	if (opt.stats)
		print_stats(sub);
	if (dumper)
		pcap_out_close(dumper);
	psample_close(sub);
	if (stop_signal) {
		/* Die of the signal, as the original (which does not catch it) does: a shell sees
		 * 128 + signal, `timeout` and init systems see the signal. */
		fflush(stdout);
		signal(stop_signal, SIG_DFL);
		sigprocmask(SIG_SETMASK, &wait_mask, NULL);
		raise(stop_signal);
	}
	return status;
}

int main(int argc, char **argv)
{
	int rc = parse_options(argc, argv);

	if (rc >= 0)
		return rc;
	if (opt.mode == MODE_LIST)
		return list_groups();
	return run(opt.groups, opt.n_groups);
}
