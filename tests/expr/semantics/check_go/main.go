// Command check_go runs the semantics case files of tests/expr/semantics
// through the real expr-lang in Go and prints every case whose expectation
// differs, so that the expectations of the C engine's suite are Go's answers,
// not guesses. It is not part of the test suite; see check.sh.
//
// Usage: check_go [-v] DIR   (DIR holds the *.jsonl case files)
//
// Built against expr-lang 1.17.8 (the version CrowdSec uses) with the
// tag v117, the stdlib-only CrowdSec helpers are registered with CrowdSec's
// exact signatures (helpers_117.go). Built against Debian's expr 1.8.9
// (import path rewritten by check.sh), only the cases 1.8.9 can run are
// tried and the report is informational: where they differ, 1.17 wins.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/expr-lang/expr"
)

type testCase struct {
	Expr     string          `json:"expr"`
	Env      json.RawMessage `json:"env"`
	Want     json.RawMessage `json:"want"`
	Type     string          `json:"type"`
	Error    string          `json:"error"`
	Phase    string          `json:"phase"`
	Note     string          `json:"note"`
	Verified string          `json:"verified"`
	Data     json.RawMessage `json:"data"`
	Only117  bool            `json:"only117"`
}

// decode parses JSON keeping integers as int and other numbers as float64,
// as the C runner does.
func decode(raw []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	return fixNumbers(v), nil
}

func fixNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil && !strings.ContainsAny(string(x), ".eE") {
			return int(i)
		}
		f, _ := x.Float64()
		return f
	case []any:
		for i := range x {
			x[i] = fixNumbers(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = fixNumbers(x[k])
		}
	}
	return v
}

var durationType = reflect.TypeOf(time.Duration(0))
var timeType = reflect.TypeOf(time.Time{})

func typeName(v any) string {
	if v == nil {
		return "nil"
	}
	t := reflect.TypeOf(v)
	if t == durationType {
		return "duration"
	}
	if t == timeType {
		return "time"
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "int"
	case reflect.Float32, reflect.Float64:
		return "float"
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "bool"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Map:
		return "map"
	case reflect.Ptr:
		if reflect.ValueOf(v).IsNil() {
			return "nil"
		}
	}
	return t.String()
}

// equalJSON compares decoded JSON trees, numbers by value (1 == 1.0).
func equalJSON(a, b any) bool {
	switch x := a.(type) {
	case int:
		switch y := b.(type) {
		case int:
			return x == y
		case float64:
			return float64(x) == y
		}
		return false
	case float64:
		switch y := b.(type) {
		case int:
			return x == float64(y)
		case float64:
			return x == y
		}
		return false
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equalJSON(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k := range x {
			if _, ok := y[k]; !ok || !equalJSON(x[k], y[k]) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}

func run(c *testCase) (out any, phase string, msg string) {
	defer func() {
		if r := recover(); r != nil {
			out, phase, msg = nil, "panic", fmt.Sprint(r)
		}
	}()
	env := map[string]any{}
	if len(c.Env) > 0 {
		v, err := decode(c.Env)
		if err != nil {
			return nil, "", "bad env: " + err.Error()
		}
		env = v.(map[string]any)
	}
	opts := append([]expr.Option{expr.Env(env)}, helperOptions()...)
	prog, err := expr.Compile(c.Expr, opts...)
	if err != nil {
		return nil, "compile", err.Error()
	}
	out, err = expr.Run(prog, env)
	if err != nil {
		return nil, "run", err.Error()
	}
	return out, "", ""
}

func main() {
	verbose := flag.Bool("v", false, "print every case")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: check_go [-v] DIR")
		os.Exit(2)
	}
	files, _ := filepath.Glob(filepath.Join(flag.Arg(0), "*.jsonl"))
	sort.Strings(files)
	checked, skipped, bad := 0, 0, 0
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		line := 0
		for sc.Scan() {
			line++
			text := strings.TrimSpace(sc.Text())
			if text == "" || strings.HasPrefix(text, "#") {
				continue
			}
			where := fmt.Sprintf("%s:%d", filepath.Base(f), line)
			var c testCase
			if err := json.Unmarshal([]byte(text), &c); err != nil {
				fmt.Printf("%s: bad case: %v\n", where, err)
				bad++
				continue
			}
			if c.Verified != "" || len(c.Data) > 0 || (c.Only117 && !isV117) || skipCase(c.Expr) {
				skipped++
				continue
			}
			checked++
			out, phase, msg := run(&c)
			problem := ""
			switch {
			case c.Error != "":
				if phase == "" {
					problem = fmt.Sprintf("want error %q, got value %#v", c.Error, out)
				} else if !strings.Contains(msg, c.Error) {
					problem = fmt.Sprintf("want error %q, got %s error %q", c.Error, phase, msg)
				} else if c.Phase != "" && c.Phase != phase {
					problem = fmt.Sprintf("want %s error, got %s error %q", c.Phase, phase, msg)
				}
			case phase != "":
				problem = fmt.Sprintf("%s error %q", phase, msg)
			default:
				js, err := json.Marshal(out)
				if err != nil {
					problem = "cannot marshal result: " + err.Error()
					break
				}
				got, _ := decode(js)
				want, err := decode(c.Want)
				if err != nil {
					problem = "bad want: " + err.Error()
				} else if !equalJSON(got, want) {
					problem = fmt.Sprintf("want %s, got %s", string(c.Want), string(js))
				} else if c.Type != "" && c.Type != typeName(out) {
					problem = fmt.Sprintf("want type %s, got %s (%T)", c.Type, typeName(out), out)
				}
			}
			if problem != "" {
				bad++
				fmt.Printf("%s: %s\n    %s\n", where, c.Expr, problem)
			} else if *verbose {
				fmt.Printf("%s: ok %s\n", where, c.Expr)
			}
		}
		fh.Close()
	}
	fmt.Printf("%s: %d checked, %d skipped, %d mismatches\n", versionName, checked, skipped, bad)
	if bad > 0 {
		os.Exit(1)
	}
}
