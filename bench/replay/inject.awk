# inject.awk - deterministic attack bursts mixed into a gen_logs log, so that
# the replay benchmark's alert comparison has something to compare: gen_logs'
# attackers are spread too thin (150 hot addresses over the whole log) to
# overflow any hub bucket. No randomness: the same input gives the same output.
#
#   awk -v kind=sshd|nginx -f inject.awk LOG
#
# sshd: after input line 10,000 and every 20,000 after it, burst k = 10
# "Failed password for invalid user" lines in one second from 198.51.100.(k+1)
# with 10 distinct users (ssh-bf and ssh-bf_user-enum); every tenth burst
# comes from 10.99.0.(k+1) instead, which crowdsecurity/whitelists drops.
# nginx: after input line 2,500 and every 5,000 after it, burst k from
# 203.0.(113 + k / 254).(k % 254 + 1), one of five kinds in turn (k % 5):
# 12 distinct 404s (http-probing), 6 .sql files (http-sensitive-files),
# 12 distinct union-select queries (http-sqli-probing), 5 ../ paths
# (http-path-traversal-probing), sqlmap's user agent then 7 <script> queries
# (http-bad-user-agent, http-xss-probing). Each burst reuses the time stamp
# (and for sshd the host) of the line it follows.
{
    print
    if (kind == "sshd" && NR % 20000 == 10000) {
        k = int(NR / 20000)
        ip = (k % 10 == 9) ? "10.99.0." (k + 1) : "198.51.100." (k % 254 + 1)
        stamp = substr($0, 1, 15)
        for (j = 0; j < 10; j++)
            printf "%s %s sshd[%d]: Failed password for invalid user bench%d from %s port %d ssh2\n",
                stamp, $4, 70000 + j, j, ip, 40000 + j
    } else if (kind == "nginx" && NR % 5000 == 2500) {
        k = int(NR / 5000)
        ip = "203.0." (113 + int(k / 254)) "." (k % 254 + 1)
        s = index($0, "[")
        stamp = substr($0, s, index($0, "]") - s + 1)
        ua = "Mozilla/5.0 (X11; Linux x86_64; rv:122.0) Gecko/20100101 Firefox/122.0"
        t = k % 5
        if (t == 0)
            for (j = 0; j < 12; j++)
                req(ip, stamp, "/probe-" k "-" j ".php", 404, ua)
        else if (t == 1)
            for (j = 0; j < 6; j++)
                req(ip, stamp, "/backup-" j ".sql", 404, ua)
        else if (t == 2)
            for (j = 0; j < 12; j++)
                req(ip, stamp, "/search?q=1%20union%20select%20" j ",2--", 200, ua)
        else if (t == 3)
            for (j = 0; j < 5; j++)
                req(ip, stamp, "/static/" j "/../../../../etc/passwd", 400, ua)
        else {
            for (j = 0; j < 3; j++)
                req(ip, stamp, "/?id=" j, 200, "sqlmap/1.7.2#stable (https://sqlmap.org)")
            for (j = 0; j < 7; j++)
                req(ip, stamp, "/?q=<script>alert(" j ")</script>", 200, ua)
        }
    }
}

function req(ip, stamp, path, status, agent) {
    printf "%s - - %s \"GET %s HTTP/1.1\" %d 153 \"-\" \"%s\"\n", ip, stamp, path, status, agent
}
