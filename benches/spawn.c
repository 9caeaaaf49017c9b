/* The benchmark's launcher: starts N copies of a command at once, each with
 * its own stdin file, and reports for each its time from spawn to reaping
 * and its peak RSS, as one line of JSON per process on stdout.
 *
 * usage: spawn DIR N TIMEOUT_SECS PROGRAM [ARGS...]
 *   child i reads DIR/i.in and writes DIR/i.out and DIR/i.err
 *
 * Why a launcher: the kernel's peak-RSS figure (ru_maxrss) of a process
 * includes the memory of whatever it was before exec. Spawned straight from
 * the Python driver, every helper would "peak" at the driver's ~17 MB. This
 * launcher is built static and small, so what wait4 reports is the helper's
 * own (like /usr/bin/time -v). It also times in C, so the driver's own
 * overhead is outside the window. It is the same for every helper measured.
 *
 * Each line: {"i":I,"pid":P,"code":C,"signal":S,"start_ns":..,"end_ns":..,
 * "maxrss_kb":K,"cpu_us":U,"minflt":F}, where start and end are
 * CLOCK_MONOTONIC nanoseconds, cpu_us is the child's user + system CPU time
 * (all its threads) and minflt its minor page faults, from the same wait4.
 * Any child still alive after TIMEOUT_SECS is
 * killed (SIGKILL).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define MAX_PROCS 256

static pid_t pids[MAX_PROCS];
static int nprocs;

static void on_alarm(int sig) {
    (void)sig;
    for (int i = 0; i < nprocs; i++)
        if (pids[i] > 0) kill(pids[i], SIGKILL);
}

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: spawn DIR N TIMEOUT_SECS PROGRAM [ARGS...]\n");
        return 2;
    }
    const char *dir = argv[1];
    int n = atoi(argv[2]);
    int timeout = atoi(argv[3]);
    char **cmd = argv + 4;
    if (n < 1 || n > MAX_PROCS || timeout < 1) {
        fprintf(stderr, "spawn: bad N or TIMEOUT\n");
        return 2;
    }
    static posix_spawn_file_actions_t fa[MAX_PROCS];
    static char in[MAX_PROCS][512], out[MAX_PROCS][512], err[MAX_PROCS][512];
    static long long start[MAX_PROCS], end[MAX_PROCS];
    static int status[MAX_PROCS];
    static struct rusage ru[MAX_PROCS];
    for (int i = 0; i < n; i++) {
        snprintf(in[i], sizeof in[i], "%s/%d.in", dir, i);
        snprintf(out[i], sizeof out[i], "%s/%d.out", dir, i);
        snprintf(err[i], sizeof err[i], "%s/%d.err", dir, i);
        posix_spawn_file_actions_init(&fa[i]);
        posix_spawn_file_actions_addopen(&fa[i], 0, in[i], O_RDONLY, 0);
        posix_spawn_file_actions_addopen(&fa[i], 1, out[i], O_WRONLY | O_CREAT | O_TRUNC, 0600);
        posix_spawn_file_actions_addopen(&fa[i], 2, err[i], O_WRONLY | O_CREAT | O_TRUNC, 0600);
    }
    signal(SIGALRM, on_alarm);
    alarm((unsigned)timeout);
    for (int i = 0; i < n; i++) {
        start[i] = now_ns();
        int rc = posix_spawn(&pids[i], cmd[0], &fa[i], NULL, cmd, environ);
        if (rc != 0) {
            fprintf(stderr, "spawn: %s: %s\n", cmd[0], strerror(rc));
            pids[i] = 0;
            on_alarm(0);
            return 2;
        }
        nprocs = i + 1;
    }
    for (int left = n; left > 0;) {
        int st;
        struct rusage r;
        pid_t pid = wait4(-1, &st, 0, &r);
        long long t = now_ns();
        if (pid < 0) {
            if (errno == EINTR) continue;
            perror("spawn: wait4");
            return 2;
        }
        for (int i = 0; i < n; i++) {
            if (pids[i] == pid) {
                end[i] = t;
                status[i] = st;
                ru[i] = r;
                pids[i] = -pid;
                left--;
                break;
            }
        }
    }
    alarm(0);
    for (int i = 0; i < n; i++) {
        int code = WIFEXITED(status[i]) ? WEXITSTATUS(status[i]) : -1;
        int sig = WIFSIGNALED(status[i]) ? WTERMSIG(status[i]) : 0;
        printf("{\"i\":%d,\"pid\":%d,\"code\":%d,\"signal\":%d,\"start_ns\":%lld,\"end_ns\":%lld,"
               "\"maxrss_kb\":%ld,\"cpu_us\":%lld,\"minflt\":%ld}\n",
               i, -pids[i], code, sig, start[i], end[i], ru[i].ru_maxrss,
               (long long)(ru[i].ru_utime.tv_sec + ru[i].ru_stime.tv_sec) * 1000000LL +
                   ru[i].ru_utime.tv_usec + ru[i].ru_stime.tv_usec,
               ru[i].ru_minflt);
    }
    return 0;
}
