/* The floor: the least a credential helper can do. It reads the request from
 * stdin to the end (as docker closes it) and prints a fixed credentials JSON.
 * Any real helper costs at least this: one exec, the dynamic loader, libc
 * start-up, one read and one write. Built with gcc -O2, dynamically linked
 * like the helpers it is compared with. */
#include <stdio.h>
#include <unistd.h>

int main(void) {
    char buf[4096];
    while (read(0, buf, sizeof buf) > 0) {
    }
    static const char out[] =
        "{\"ServerURL\":\"111111111111.dkr.ecr.us-east-1.amazonaws.com\","
        "\"Username\":\"AWS\",\"Secret\":\"floor\"}\n";
    return write(1, out, sizeof out - 1) == (ssize_t)(sizeof out - 1) ? 0 : 1;
}
