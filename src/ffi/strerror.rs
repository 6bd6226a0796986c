//! The texts of `psample_strerror`: one static C string per errno value, in the C API's terms.
//! The C API returns the errno alone, so where one errno has several causes the text names the
//! function (or flag) each belongs to, rather than advising what holds for one of them only.

use std::ffi::CStr;

/// The text for an errno value, positive or negative.
pub fn message(err: i32) -> &'static CStr {
    match err.checked_abs().unwrap_or(-1) {
        0 => c"success",
        libc::ENOENT => c"not found. From psample_subscribe() or psample_list_groups(): psample is not available in \
                         this network namespace's kernel: load the module (modprobe psample, or modprobe act_sample \
                         which pulls it in) or build the kernel with CONFIG_PSAMPLE, or subscribe with \
                         PSAMPLE_SUB_WAIT_FAMILY to start before it is loaded (with PSAMPLE_SUB_NETNS_FD it can also \
                         mean /proc is not mounted). From psample_ovs_cookie(): the packet has no 8-byte OVS cookie",
        libc::EPERM | libc::EACCES => c"not permitted. From psample_subscribe(): joining psample's \"packets\" group \
                                       needs CAP_NET_ADMIN in the user namespace that owns the network namespace (run \
                                       as root, or grant cap_net_admin, and subscribe before dropping it); with \
                                       PSAMPLE_SUB_NETNS_FD, entering the namespace needs CAP_SYS_ADMIN over it. From \
                                       psample_wakeup(): the wake-up counts, but the handle was subscribed without \
                                       CAP_NET_ADMIN, so a blocked psample_recv() answers it only at the next record",
        libc::EINVAL => c"invalid argument: a NULL pointer, a struct size smaller than this library's first \
                         version, unknown flags, non-zero reserved bytes or non-zero bytes past the fields this library knows (the program was built \
                         against a newer psample.h), or a value out of range; see psample.h",
        libc::EAGAIN => c"no sample is queued yet (non-blocking handle): poll psample_poll_fd() for POLLIN, then call again",
        libc::EINTR => c"interrupted by a signal before any sample arrived: call again (to stop a blocked \
                        psample_recv() from a signal handler, call psample_wakeup() there)",
        libc::ENOBUFS => c"the kernel dropped samples because the receive buffer was full (reported because \
                          PSAMPLE_SUB_ENOBUFS is set): psample_stats() counts them; raise opts.rcvbuf, read \
                          faster, or sample less often",
        libc::EBADMSG => c"malformed psample message: a header or attribute length is wrong or an attribute \
                          has the wrong size",
        libc::ENOMSG => c"a well-formed netlink message that is not a psample sample or group event",
        libc::ENODEV => c"the psample family went away (module unloaded) while subscribed: close and subscribe \
                         again, or subscribe with PSAMPLE_SUB_RESUBSCRIBE to follow reloads",
        libc::EBADF => c"bad file descriptor: with PSAMPLE_SUB_NETNS_FD, opts.netns_fd is not an open network \
                        namespace file (/run/netns/NAME, /proc/PID/ns/net)",
        libc::ECANCELED => c"woken up by psample_wakeup(): no sample is lost (queued ones stay for the next call): \
                            stop receiving, or call psample_recv() again",
        libc::ENOTCONN => c"the subscription was closed: nothing to wake",
        libc::ENOMEM => c"out of memory",
        libc::EMFILE | libc::ENFILE => c"too many open files: close some descriptors or raise the limit",
        libc::EAFNOSUPPORT | libc::EPROTONOSUPPORT => c"this kernel has no generic netlink sockets",
        libc::EPROTO => c"unexpected reply from the kernel's generic netlink controller",
        libc::ENOSPC => c"the receive buffer of this handle is too small for a message (a bug: please report it)",
        _ => c"unrecognized error code (see errno(3))",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(err: i32) -> &'static str {
        message(err).to_str().unwrap()
    }

    #[test]
    fn negative_and_positive_give_the_same_text() {
        assert_eq!(message(-libc::ENOENT), message(libc::ENOENT));
        assert!(text(libc::ENOENT).contains("modprobe psample"));
        assert!(text(-libc::EPERM).contains("CAP_NET_ADMIN"));
        assert!(text(i32::MIN).starts_with("unrecognized"));
        assert!(text(123456).starts_with("unrecognized"));
    }

    /// An errno with several causes names the function of each: the module advice is given as
    /// psample_subscribe()'s and psample_list_groups()'s, and psample_ovs_cookie()'s ENOENT has
    /// its own.
    #[test]
    fn shared_errnos_say_which_function_each_cause_belongs_to() {
        let enoent = text(libc::ENOENT);
        let module = enoent.find("modprobe psample").unwrap();
        assert!(enoent[..module].contains("From psample_subscribe() or psample_list_groups()"), "{enoent}");
        let cookie = enoent.find("From psample_ovs_cookie()").expect(enoent);
        assert!(cookie > module && enoent[cookie..].contains("no 8-byte OVS cookie"), "{enoent}");
        let eperm = text(libc::EPERM);
        assert!(eperm.contains("From psample_subscribe()") && eperm.contains("From psample_wakeup()"), "{eperm}");
    }
}
