// Command expr_go times the expressions of bench/bench_expr.c with expr-lang
// in Go (Debian's github.com/antonmedv/expr 1.8.9), on an env shaped like
// CrowdSec's: evt is a *Event with Meta/Parsed maps, results a map of parser
// dumps, and Upper/Lower are plain functions. Same output format as
// bench_expr: name, evals/s, ns/eval, result (%v), then "# peak_rss_kb".
//
// Build offline: GO111MODULE=off GOPATH=/usr/share/gocode go build (run.sh does).
package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/antonmedv/expr"
	"github.com/antonmedv/expr/vm"
)

type Line struct {
	Raw    string
	Src    string
	Module string
	Labels map[string]string
}

type Event struct {
	Type   int
	Stage  string
	Line   Line
	Parsed map[string]string
	Meta   map[string]string
}

type ParserResult struct {
	Idx     int
	Evt     Event
	Success bool
}

type benchCase struct {
	name, src string
	hubtest   bool
}

// Keep in the same order and spelling as bench/bench_expr.c.
var cases = []benchCase{
	{"log_type_eq", `evt.Meta.log_type == 'ssh_failed-auth'`, false},
	{"http_probing", `evt.Meta.service == 'http' && evt.Meta.http_status in ['404', '403', '400'] && evt.Parsed.static_ressource == 'false'`, false},
	{"program_prefix", `evt.Parsed.program startsWith 'nginx'`, false},
	{"http_access_get", `evt.Meta.log_type in ['http_access-log', 'http_error-log'] && evt.Parsed.static_ressource == 'false' && evt.Parsed.verb in ['GET', 'HEAD']`, false},
	{"static_ressource", `Upper(evt.Parsed.file_ext) in ['.JPG', '.CSS', '.JS', '.JPEG', '.PNG', '.SVG', '.MAP', '.ICO', '.OTF', '.GIF', '.MP3', '.MP4', '.WOFF', '.WOFF2', '.TTF', '.OTF', '.EOT', '.WEBP', '.WAV', '.GZ', '.BROTLI', '.BVR', '.TS', '.BMP', '.AVIF', '.MJS'] ? 'true' : 'false'`, false},
	{"path_matches", `evt.Meta.log_type in ['http_access-log', 'http_error-log'] && evt.Meta.http_path matches '/ui/vcav-bootstrap/rest/vcav-providers/provider-logo\\?url=(file|http)'`, false},
	{"admin_any", `evt.Meta.log_type in ['http_access-log', 'http_error-log'] && any(['/admin', '/wp-admin', '/phpmyadmin', '/manager/html', '/administrator'], { Lower(evt.Meta.http_path) contains # })`, false},
	{"hubtest_assert", `results["s01-parse"]["crowdsecurity/nginx-logs"][0].Evt.Parsed["verb"] == "GET"`, true},
}

func event() Event {
	return Event{
		Type:  0,
		Stage: "s02-enrich",
		Line: Line{
			Raw:    `192.168.1.20 - - [27/Nov/2026:10:00:00 +0000] "GET /wp-admin/install.php HTTP/1.1" 404 153 "-" "Mozilla/5.0"`,
			Src:    "/var/log/nginx/access.log",
			Module: "file",
			Labels: map[string]string{"type": "nginx"},
		},
		Parsed: map[string]string{
			"program": "nginx", "remote_addr": "192.168.1.20", "verb": "GET",
			"request": "/wp-admin/install.php", "http_path": "/wp-admin/install.php",
			"http_args": "", "status": "404", "body_bytes_sent": "153",
			"http_user_agent": "Mozilla/5.0", "file_name": "install.php",
			"file_ext": ".php", "file_frag": "install", "file_dir": "/wp-admin/",
			"static_ressource": "false", "target_fqdn": "example.com",
		},
		Meta: map[string]string{
			"log_type": "http_access-log", "service": "http",
			"source_ip": "192.168.1.20", "http_status": "404",
			"http_path": "/wp-admin/install.php", "http_verb": "GET",
			"http_user_agent": "Mozilla/5.0", "target_fqdn": "example.com",
		},
	}
}

func main() {
	seconds := 0.7
	if len(os.Args) > 1 {
		if s, err := strconv.ParseFloat(os.Args[1], 64); err == nil && s > 0 {
			seconds = s
		}
	}
	evt := event()
	funcs := map[string]interface{}{"Upper": strings.ToUpper, "Lower": strings.ToLower}
	failed := false
	fmt.Println("# name\tevals/s\tns/eval\tresult")
	for _, c := range cases {
		env := map[string]interface{}{}
		for k, v := range funcs {
			env[k] = v
		}
		if c.hubtest {
			env["results"] = map[string]map[string][]ParserResult{
				"s01-parse": {"crowdsecurity/nginx-logs": {{Idx: 0, Evt: evt, Success: true}}},
			}
		} else {
			env["evt"] = &evt
		}
		prog, err := expr.Compile(c.src, expr.Env(env))
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: compile error: %v\n", c.name, err)
			failed = true
			continue
		}
		out, err := vm.Run(prog, env)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: run-time error: %v\n", c.name, err)
			failed = true
			continue
		}
		n := 1000
		var dt time.Duration
		for {
			t0 := time.Now()
			for i := 0; i < n; i++ {
				out, _ = vm.Run(prog, env)
			}
			dt = time.Since(t0)
			if dt.Seconds() >= seconds/10 || n >= 1<<40 {
				break
			}
			n *= 2
		}
		n = int(float64(n)*seconds/dt.Seconds()) + 1
		t0 := time.Now()
		for i := 0; i < n; i++ {
			out, _ = vm.Run(prog, env)
		}
		dt = time.Since(t0)
		fmt.Printf("%s\t%.0f\t%.1f\t%v\n", c.name, float64(n)/dt.Seconds(), float64(dt.Nanoseconds())/float64(n), out)
	}
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	fmt.Printf("# peak_rss_kb %d\n", ru.Maxrss)
	if failed {
		os.Exit(1)
	}
}
