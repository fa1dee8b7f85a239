//go:build v117

// The CrowdSec helpers that need only Go's standard library, registered with
// the signatures of CrowdSec's pkg/exprhelpers/expr_lib.go (the signatures
// decide what the 1.17 type checker accepts) and the behaviour of its
// helpers.go/strings.go: the zero value and no error where CrowdSec logs and
// returns one. Helpers needing outside state or libraries Debian lacks (data
// files, GeoIP, stash, JSON path extraction, XML, libinjection, HTTP, DNS)
// and those with their own parsers (ParseQuery, ExtractQueryParam, ParseKV) are
// not here: their cases carry "verified" and are derived from CrowdSec's tests.
package main

import (
	"encoding/base64"
	"fmt"
	"math"
	"net"
	"net/netip"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/expr-lang/expr"
)

const isV117 = true
const versionName = "expr 1.17.8"

func skipCase(src string) bool { return false }

type fn = func(params ...any) (any, error)

func str1(f func(string) any) fn {
	return func(p ...any) (any, error) { return f(p[0].(string)), nil }
}

func str2(f func(string, string) any) fn {
	return func(p ...any) (any, error) { return f(p[0].(string), p[1].(string)), nil }
}

func globMatch(pattern, name string) bool {
	if pattern == "" {
		return name == ""
	}
	if name == "" {
		return pattern == "*"
	}
	if pattern[0] == '*' {
		for i := 0; i <= len(name); i++ {
			if globMatch(pattern[1:], name[i:]) {
				return true
			}
		}
		return false
	}
	if pattern[0] == '?' || pattern[0] == name[0] {
		return globMatch(pattern[1:], name[1:])
	}
	return false
}

func flattenValue(args []any, v reflect.Value) []any {
	if v.Kind() == reflect.Interface {
		v = v.Elem()
	}
	if v.Kind() == reflect.Array || v.Kind() == reflect.Slice {
		for i := 0; i < v.Len(); i++ {
			args = flattenValue(args, v.Index(i))
		}
	} else {
		args = append(args, v.Interface())
	}
	return args
}

func distinct(x any) any {
	v := reflect.ValueOf(x)
	if k := v.Kind(); k != reflect.Slice && k != reflect.Array {
		return nil
	}
	seen := map[any]bool{}
	ret := make([]any, 0, v.Len())
	for i := 0; i < v.Len(); i++ {
		e := v.Index(i).Interface()
		if !seen[e] {
			seen[e] = true
			ret = append(ret, e)
		}
	}
	return ret
}

func timesOf(x any) ([]time.Time, error) {
	switch v := x.(type) {
	case []time.Time:
		return append([]time.Time(nil), v...), nil
	case []any:
		out := make([]time.Time, len(v))
		for i, e := range v {
			t, ok := e.(time.Time)
			if !ok {
				return nil, fmt.Errorf("element at index %d is not a time.Time", i)
			}
			out[i] = t
		}
		return out, nil
	}
	return nil, fmt.Errorf("expects a slice of times")
}

func sortTimes(t []time.Time) {
	for i := 1; i < len(t); i++ {
		for j := i; j > 0 && t[j].Before(t[j-1]); j-- {
			t[j], t[j-1] = t[j-1], t[j]
		}
	}
}

func helperOptions() []expr.Option {
	f := expr.Function
	return []expr.Option{
		f("Flatten", func(p ...any) (any, error) { return flattenValue(nil, reflect.ValueOf(p)), nil }),
		f("Distinct", func(p ...any) (any, error) { return distinct(p[0]), nil }),
		f("FlattenDistinct", func(p ...any) (any, error) { return distinct(flattenValue(nil, reflect.ValueOf(p))), nil }),
		f("Atof", str1(func(s string) any { r, _ := strconv.ParseFloat(s, 64); return r }), new(func(string) float64)),
		f("ToJsonString", func(p ...any) (any, error) {
			b, err := jsonMarshal(p[0])
			if err != nil {
				return "", nil
			}
			return b, nil
		}, new(func(any) string)),
		f("Upper", str1(func(s string) any { return strings.ToUpper(s) }), new(func(string) string)),
		f("Lower", str1(func(s string) any { return strings.ToLower(s) }), new(func(string) string)),
		f("IpInRange", str2(func(ip, r string) any {
			a := net.ParseIP(ip)
			if a == nil {
				return false
			}
			_, n, err := net.ParseCIDR(r)
			if err != nil {
				return false
			}
			return n.Contains(a)
		}), new(func(string, string) bool)),
		f("ParseUri", str1(func(s string) any {
			ret := map[string][]string{}
			u, err := url.Parse(s)
			if err != nil {
				return ret
			}
			q, err := url.ParseQuery(u.RawQuery)
			if err != nil {
				return ret
			}
			for k, v := range q {
				ret[k] = v
			}
			return ret
		}), new(func(string) map[string][]string)),
		f("PathUnescape", str1(func(s string) any {
			r, err := url.PathUnescape(s)
			if err != nil {
				return s
			}
			return r
		}), new(func(string) string)),
		f("QueryUnescape", str1(func(s string) any {
			r, err := url.QueryUnescape(s)
			if err != nil {
				return s
			}
			return r
		}), new(func(string) string)),
		f("PathEscape", str1(func(s string) any { return url.PathEscape(s) }), new(func(string) string)),
		f("QueryEscape", str1(func(s string) any { return url.QueryEscape(s) }), new(func(string) string)),
		f("IpToRange", str2(func(ip, cidr string) any {
			mask, err := strconv.Atoi(strings.TrimPrefix(cidr, "/"))
			if err != nil {
				return ""
			}
			a, err := netip.ParseAddr(ip)
			if err != nil {
				return ""
			}
			pfx, err := a.Prefix(mask)
			if err != nil {
				return ""
			}
			return pfx.String()
		}), new(func(string, string) string)),
		f("IsIPV6", str1(func(s string) any { a := net.ParseIP(s); return a != nil && a.To4() == nil }), new(func(string) bool)),
		f("IsIPV4", str1(func(s string) any { a := net.ParseIP(s); return a != nil && a.To4() != nil }), new(func(string) bool)),
		f("IsIP", str1(func(s string) any { return net.ParseIP(s) != nil }), new(func(string) bool)),
		f("GetDecisionsCount", func(p ...any) (any, error) { return 0, nil }, new(func(string) int)),
		f("GetActiveDecisionsCount", func(p ...any) (any, error) { return 0, nil }, new(func(string) int)),
		f("GetActiveDecisionsTimeLeft", func(p ...any) (any, error) { return 0, nil }, new(func(string) time.Duration)),
		f("GetDecisionsSinceCount", func(p ...any) (any, error) { return 0, nil }, new(func(string, string) int)),
		f("Sprintf", func(p ...any) (any, error) { return fmt.Sprintf(p[0].(string), p[1:]...), nil }, new(func(string, ...any) string)),
		f("ParseUnix", str1(func(s string) any {
			i, err := strconv.ParseInt(strings.Split(s, ".")[0], 10, 64)
			if err != nil || i <= 0 {
				return ""
			}
			return time.Unix(i, 0).UTC().Format(time.RFC3339)
		}), new(func(string) string)),
		f("Fields", str1(func(s string) any { return strings.Fields(s) }), new(func(string) []string)),
		f("Index", str2(func(a, b string) any { return strings.Index(a, b) }), new(func(string, string) int)),
		f("IndexAny", str2(func(a, b string) any { return strings.IndexAny(a, b) }), new(func(string, string) int)),
		f("Join", func(p ...any) (any, error) { return strings.Join(p[0].([]string), p[1].(string)), nil }, new(func([]string, string) string)),
		f("Split", str2(func(a, b string) any { return strings.Split(a, b) }), new(func(string, string) []string)),
		f("SplitAfter", str2(func(a, b string) any { return strings.SplitAfter(a, b) }), new(func(string, string) []string)),
		f("SplitAfterN", func(p ...any) (any, error) { return strings.SplitAfterN(p[0].(string), p[1].(string), p[2].(int)), nil }, new(func(string, string, int) []string)),
		f("SplitN", func(p ...any) (any, error) { return strings.SplitN(p[0].(string), p[1].(string), p[2].(int)), nil }, new(func(string, string, int) []string)),
		f("Replace", func(p ...any) (any, error) {
			return strings.Replace(p[0].(string), p[1].(string), p[2].(string), p[3].(int)), nil
		}, new(func(string, string, string, int) string)),
		f("ReplaceAll", func(p ...any) (any, error) {
			return strings.ReplaceAll(p[0].(string), p[1].(string), p[2].(string)), nil
		}, new(func(string, string, string) string)),
		f("Trim", str2(func(a, b string) any { return strings.Trim(a, b) }), new(func(string, string) string)),
		f("TrimLeft", str2(func(a, b string) any { return strings.TrimLeft(a, b) }), new(func(string, string) string)),
		f("TrimRight", str2(func(a, b string) any { return strings.TrimRight(a, b) }), new(func(string, string) string)),
		f("TrimSpace", str1(func(s string) any { return strings.TrimSpace(s) }), new(func(string) string)),
		f("TrimPrefix", str2(func(a, b string) any { return strings.TrimPrefix(a, b) }), new(func(string, string) string)),
		f("TrimSuffix", str2(func(a, b string) any { return strings.TrimSuffix(a, b) }), new(func(string, string) string)),
		f("Get", func(p ...any) (any, error) {
			arr, i := p[0].([]string), p[1].(int)
			if i >= len(arr) {
				return "", nil
			}
			return arr[i], nil
		}, new(func([]string, int) string)),
		f("ToString", func(p ...any) (any, error) { s, _ := p[0].(string); return s, nil }, new(func(any) string)),
		f("Match", str2(func(pat, s string) any { return globMatch(pat, s) }), new(func(string, string) bool)),
		f("KeyExists", func(p ...any) (any, error) { _, ok := p[1].(map[string]any)[p[0].(string)]; return ok, nil }, new(func(string, map[string]any) bool)),
		f("B64Decode", func(p ...any) (any, error) {
			d, err := base64.StdEncoding.DecodeString(p[0].(string))
			if err != nil {
				return "", err
			}
			return string(d), nil
		}, new(func(string) string)),
		f("UnmarshalJSON", func(p ...any) (any, error) {
			var out any
			if err := jsonUnmarshal(p[0].(string), &out); err != nil {
				return nil, err
			}
			p[1].(map[string]any)[p[2].(string)] = out
			return nil, nil
		}, new(func(string, map[string]any, string) error)),
		f("FloatApproxEqual", func(p ...any) (any, error) {
			return math.Abs(p[0].(float64)-p[1].(float64)) < 1e-6, nil
		}, new(func(float64, float64) bool)),
		f("AverageInterval", func(p ...any) (any, error) {
			t, err := timesOf(p[0])
			if err != nil {
				return 0, err
			}
			if len(t) < 2 {
				return 0, fmt.Errorf("need at least two times to calculate an average interval")
			}
			sortTimes(t)
			var total time.Duration
			for i := 1; i < len(t); i++ {
				total += t[i].Sub(t[i-1])
			}
			return time.Duration(int64(total) / int64(len(t)-1)), nil
		}, new(func([]time.Time) time.Duration), new(func([]interface{}) time.Duration)),
		f("MedianInterval", func(p ...any) (any, error) {
			t, err := timesOf(p[0])
			if err != nil {
				return 0, err
			}
			if len(t) < 2 {
				return 0, fmt.Errorf("need at least two times to calculate a median")
			}
			sortTimes(t)
			iv := make([]time.Duration, len(t)-1)
			for i := 1; i < len(t); i++ {
				iv[i-1] = t[i].Sub(t[i-1])
			}
			for i := 1; i < len(iv); i++ {
				for j := i; j > 0 && iv[j] < iv[j-1]; j-- {
					iv[j], iv[j-1] = iv[j-1], iv[j]
				}
			}
			n := len(iv)
			if n%2 == 1 {
				return iv[n/2], nil
			}
			return (iv[n/2-1] + iv[n/2]) / 2, nil
		}, new(func([]time.Time) time.Duration), new(func([]interface{}) time.Duration)),
	}
}
