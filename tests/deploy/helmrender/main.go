// helmrender renders a Helm chart offline the way `helm template` does, so the chart under
// helm/claimgate can be tested on a machine without Helm. It is built from Debian packages only
// (golang-go, golang-github-masterminds-sprig-dev, golang-k8s-sigs-yaml-dev) in GOPATH mode; see
// tests/deploy/build-helmrender.sh.
//
// Supported, as in Helm 3:
//   - Chart.yaml, values.yaml, templates/ (files starting with "_" only define templates;
//     NOTES.txt is not rendered), subcharts from charts/<dir>/ and from Chart.yaml dependencies
//     with a file:// repository (with `condition`), subchart defaults coalesced under
//     .Values.<name> for the parent and scoped .Values for the subchart, .Values.global shared;
//   - values: chart defaults < each -f FILE in order < each --set PATH=VALUE in order
//     (one assignment per flag; dotted paths; true/false/null/integers typed as Helm does);
//   - .Values .Release (Name Namespace Service IsInstall IsUpgrade Revision) .Chart (Chart.yaml
//     fields, capitalised) .Capabilities (KubeVersion, APIVersions.Has) .Template (Name BasePath);
//   - functions: sprig's TxtFuncMap without env/expandenv, plus include, tpl, required, toYaml,
//     mustToYaml, fromYaml, toJson, mustToJson, fromJson, lookup (always empty: no cluster);
//   - missing keys render as empty (Helm's missingkey=zero plus removal of "<no value>").
// Not supported: .Files, toToml, --set with commas or list indexes, hooks, CRDs, tests/.
//
// Output: every rendered template that is not blank, as `---\n# Source: <name>\n<text>`, sorted
// by name; each document must parse as YAML or rendering fails (as `helm template` does).
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig"
	"sigs.k8s.io/yaml"
)

type chartMeta struct {
	APIVersion   string                   `json:"apiVersion"`
	Name         string                   `json:"name"`
	Version      string                   `json:"version"`
	AppVersion   string                   `json:"appVersion"`
	Description  string                   `json:"description"`
	Type         string                   `json:"type"`
	KubeVersion  string                   `json:"kubeVersion"`
	Home         string                   `json:"home"`
	Keywords     []string                 `json:"keywords"`
	Sources      []string                 `json:"sources"`
	Dependencies []map[string]interface{} `json:"dependencies"`
}

// Capitalised view used by templates (.Chart.Name, .Chart.Version, ...), like Helm's chart.Metadata.
type chartView struct {
	APIVersion, Name, Version, AppVersion, Description, Type, KubeVersion, Home string
	Keywords, Sources                                                          []string
}

type chart struct {
	dir       string
	meta      chartMeta
	values    map[string]interface{}
	templates map[string]string // template name ("<chart>/templates/x.yaml") -> text
	subcharts []*chart
	condition map[string]string // subchart name -> condition path
}

type release struct {
	Name, Namespace, Service string
	IsInstall, IsUpgrade     bool
	Revision                 int
}

type kubeVersion struct{ Version, Major, Minor, GitVersion string }
type apiVersions []string

func (a apiVersions) Has(v string) bool {
	for _, x := range a {
		if x == v {
			return true
		}
	}
	return false
}

type capabilities struct {
	KubeVersion kubeVersion
	APIVersions apiVersions
}

type templateInfo struct{ Name, BasePath string }

func readYAMLMap(path string) (map[string]interface{}, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := map[string]interface{}{}
	if err := yaml.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if out == nil {
		out = map[string]interface{}{}
	}
	return out, nil
}

func loadChart(dir, prefix string) (*chart, error) {
	c := &chart{dir: dir, templates: map[string]string{}, condition: map[string]string{}}
	data, err := os.ReadFile(filepath.Join(dir, "Chart.yaml"))
	if err != nil {
		return nil, err
	}
	if err := yaml.Unmarshal(data, &c.meta); err != nil {
		return nil, fmt.Errorf("%s/Chart.yaml: %w", dir, err)
	}
	if c.meta.Name == "" || c.meta.Version == "" {
		return nil, fmt.Errorf("%s/Chart.yaml: name and version are required", dir)
	}
	if c.meta.APIVersion != "v2" {
		return nil, fmt.Errorf("%s/Chart.yaml: apiVersion must be v2", dir)
	}
	c.values = map[string]interface{}{}
	if _, err := os.Stat(filepath.Join(dir, "values.yaml")); err == nil {
		if c.values, err = readYAMLMap(filepath.Join(dir, "values.yaml")); err != nil {
			return nil, err
		}
	}
	name := prefix + c.meta.Name
	entries, _ := os.ReadDir(filepath.Join(dir, "templates"))
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		text, err := os.ReadFile(filepath.Join(dir, "templates", e.Name()))
		if err != nil {
			return nil, err
		}
		c.templates[name+"/templates/"+e.Name()] = string(text)
	}
	seen := map[string]bool{}
	for _, d := range c.meta.Dependencies {
		depName, _ := d["name"].(string)
		repo, _ := d["repository"].(string)
		if cond, ok := d["condition"].(string); ok {
			c.condition[depName] = cond
		}
		if !strings.HasPrefix(repo, "file://") {
			continue // a packaged dependency would sit in charts/, handled below
		}
		sub, err := loadChart(filepath.Join(dir, strings.TrimPrefix(repo, "file://")), name+"/charts/")
		if err != nil {
			return nil, err
		}
		if sub.meta.Name != depName {
			return nil, fmt.Errorf("%s: dependency %q points at chart %q", dir, depName, sub.meta.Name)
		}
		seen[depName] = true
		c.subcharts = append(c.subcharts, sub)
	}
	subdirs, _ := os.ReadDir(filepath.Join(dir, "charts"))
	for _, e := range subdirs {
		if !e.IsDir() {
			continue
		}
		sub, err := loadChart(filepath.Join(dir, "charts", e.Name()), name+"/charts/")
		if err != nil {
			return nil, err
		}
		if !seen[sub.meta.Name] {
			c.subcharts = append(c.subcharts, sub)
		}
	}
	return c, nil
}

// coalesce merges src under dst: dst wins, maps merge recursively, an explicit null in dst deletes.
func coalesce(dst, src map[string]interface{}) map[string]interface{} {
	if dst == nil {
		dst = map[string]interface{}{}
	}
	for k, sv := range src {
		dv, present := dst[k]
		if !present {
			dst[k] = deepCopy(sv)
			continue
		}
		if dv == nil {
			delete(dst, k)
			continue
		}
		dm, dok := dv.(map[string]interface{})
		sm, sok := sv.(map[string]interface{})
		if dok && sok {
			dst[k] = coalesce(dm, sm)
		}
	}
	for k, v := range dst {
		if v == nil {
			delete(dst, k)
		}
	}
	return dst
}

func dropNulls(m map[string]interface{}) {
	for k, v := range m {
		if v == nil {
			delete(m, k)
		} else if sub, ok := v.(map[string]interface{}); ok {
			dropNulls(sub)
		}
	}
}

func deepCopy(v interface{}) interface{} {
	switch t := v.(type) {
	case map[string]interface{}:
		m := make(map[string]interface{}, len(t))
		for k, x := range t {
			m[k] = deepCopy(x)
		}
		return m
	case []interface{}:
		l := make([]interface{}, len(t))
		for i, x := range t {
			l[i] = deepCopy(x)
		}
		return l
	}
	return v
}

// mergeOver puts override on top of base (override wins), recursively for maps.
func mergeOver(base, override map[string]interface{}) map[string]interface{} {
	for k, ov := range override {
		if om, ok := ov.(map[string]interface{}); ok {
			if bm, ok := base[k].(map[string]interface{}); ok {
				base[k] = mergeOver(bm, om)
				continue
			}
		}
		base[k] = deepCopy(ov)
	}
	return base
}

func parseSetValue(s string) interface{} {
	switch s {
	case "true":
		return true
	case "false":
		return false
	case "null":
		return nil
	}
	if i, err := strconv.ParseInt(s, 10, 64); err == nil && (s == "0" || !strings.HasPrefix(s, "0")) {
		return i
	}
	return s
}

func applySet(values map[string]interface{}, assignment string) error {
	eq := strings.IndexByte(assignment, '=')
	if eq <= 0 {
		return fmt.Errorf("--set %q: want PATH=VALUE", assignment)
	}
	path := strings.Split(assignment[:eq], ".")
	m := values
	for _, p := range path[:len(path)-1] {
		next, ok := m[p].(map[string]interface{})
		if !ok {
			next = map[string]interface{}{}
			m[p] = next
		}
		m = next
	}
	m[path[len(path)-1]] = parseSetValue(assignment[eq+1:])
	return nil
}

func lookupPath(values map[string]interface{}, path string) (interface{}, bool) {
	var cur interface{} = values
	for _, p := range strings.Split(path, ".") {
		m, ok := cur.(map[string]interface{})
		if !ok {
			return nil, false
		}
		if cur, ok = m[p]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// job is one chart to render with its final values.
type job struct {
	c      *chart
	values map[string]interface{}
	prefix string
}

// collect coalesces subchart defaults into the parent's values (as Helm does) and returns the
// charts to render, parents first.
func collect(c *chart, values map[string]interface{}, prefix string, out *[]job) {
	global, _ := values["global"].(map[string]interface{})
	var enabled []*chart
	for _, sub := range c.subcharts {
		if cond, ok := c.condition[sub.meta.Name]; ok {
			if v, found := lookupPath(values, cond); found {
				if b, isBool := v.(bool); isBool && !b {
					continue
				}
			}
		}
		subValues, _ := values[sub.meta.Name].(map[string]interface{})
		subValues = coalesce(subValues, sub.values)
		if global != nil {
			g, _ := subValues["global"].(map[string]interface{})
			subValues["global"] = coalesce(g, global)
		}
		values[sub.meta.Name] = subValues
		enabled = append(enabled, sub)
	}
	*out = append(*out, job{c: c, values: values, prefix: prefix})
	for _, sub := range enabled {
		collect(sub, values[sub.meta.Name].(map[string]interface{}), prefix+c.meta.Name+"/charts/", out)
	}
}

func toYAML(v interface{}) (string, error) {
	data, err := yaml.Marshal(v)
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(string(data), "\n"), nil
}

func funcMap(root *template.Template) template.FuncMap {
	f := sprig.TxtFuncMap()
	delete(f, "env")
	delete(f, "expandenv")
	included := map[string]int{}
	f["include"] = func(name string, data interface{}) (string, error) {
		if included[name] > 1000 {
			return "", fmt.Errorf("include %q: rendering recursion limit reached", name)
		}
		included[name]++
		defer func() { included[name]-- }()
		var buf strings.Builder
		if err := root.ExecuteTemplate(&buf, name, data); err != nil {
			return "", err
		}
		return buf.String(), nil
	}
	f["tpl"] = func(text string, data interface{}) (string, error) {
		t, err := root.Clone()
		if err != nil {
			return "", err
		}
		t, err = t.New("tpl").Option("missingkey=zero").Parse(text)
		if err != nil {
			return "", err
		}
		var buf strings.Builder
		if err := t.Execute(&buf, data); err != nil {
			return "", err
		}
		return strings.ReplaceAll(buf.String(), "<no value>", ""), nil
	}
	f["required"] = func(msg string, v interface{}) (interface{}, error) {
		if v == nil {
			return v, errors.New(msg)
		}
		if s, ok := v.(string); ok && s == "" {
			return v, errors.New(msg)
		}
		return v, nil
	}
	f["toYaml"] = func(v interface{}) string { s, _ := toYAML(v); return s }
	f["mustToYaml"] = toYAML
	f["fromYaml"] = func(s string) map[string]interface{} {
		m := map[string]interface{}{}
		if err := yaml.Unmarshal([]byte(s), &m); err != nil {
			m["Error"] = err.Error()
		}
		return m
	}
	f["toJson"] = func(v interface{}) string { b, _ := json.Marshal(v); return string(b) }
	f["mustToJson"] = func(v interface{}) (string, error) { b, err := json.Marshal(v); return string(b), err }
	f["fromJson"] = func(s string) map[string]interface{} {
		m := map[string]interface{}{}
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			m["Error"] = err.Error()
		}
		return m
	}
	f["lookup"] = func(string, string, string, string) (map[string]interface{}, error) {
		return map[string]interface{}{}, nil
	}
	return f
}

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func run() error {
	var valueFiles, sets, apis stringList
	releaseName := flag.String("release-name", "release-name", "the release name (.Release.Name)")
	namespace := flag.String("namespace", "default", "the namespace (.Release.Namespace)")
	kube := flag.String("kube-version", "v1.29.0", "the cluster version (.Capabilities.KubeVersion)")
	flag.Var(&valueFiles, "f", "a values file (repeatable, later wins)")
	flag.Var(&sets, "set", "PATH=VALUE (repeatable, applied after -f)")
	flag.Var(&apis, "api-versions", "an extra API version for .Capabilities.APIVersions.Has (repeatable)")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: helmrender [flags] CHART_DIR\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	top, err := loadChart(flag.Arg(0), "")
	if err != nil {
		return err
	}
	values := deepCopy(top.values).(map[string]interface{})
	for _, f := range valueFiles {
		override, err := readYAMLMap(f)
		if err != nil {
			return err
		}
		values = mergeOver(values, override)
	}
	overrides := map[string]interface{}{}
	for _, s := range sets {
		if err := applySet(overrides, s); err != nil {
			return err
		}
	}
	values = mergeOver(values, overrides)
	dropNulls(values) // an explicit null removes a default, as in Helm

	var jobs []job
	collect(top, values, "", &jobs)

	root := template.New("gotpl")
	root.Funcs(funcMap(root)).Option("missingkey=zero")
	type target struct {
		name string
		data map[string]interface{}
	}
	var targets []target
	ver := strings.TrimPrefix(*kube, "v")
	parts := strings.SplitN(ver, ".", 3)
	caps := capabilities{
		KubeVersion: kubeVersion{Version: *kube, GitVersion: *kube, Major: parts[0], Minor: parts[1]},
		APIVersions: append(apiVersions{"v1", "apps/v1", "autoscaling/v2", "policy/v1", "networking.k8s.io/v1"}, apis...),
	}
	for _, j := range jobs {
		m := j.c.meta
		view := chartView{m.APIVersion, m.Name, m.Version, m.AppVersion, m.Description, m.Type, m.KubeVersion, m.Home, m.Keywords, m.Sources}
		names := make([]string, 0, len(j.c.templates))
		for n := range j.c.templates {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			if _, err := root.New(n).Parse(j.c.templates[n]); err != nil {
				return err
			}
			base := filepath.Base(n)
			if strings.HasPrefix(base, "_") || base == "NOTES.txt" {
				continue
			}
			targets = append(targets, target{n, map[string]interface{}{
				"Values":       j.values,
				"Release":      release{Name: *releaseName, Namespace: *namespace, Service: "Helm", IsInstall: true, Revision: 1},
				"Chart":        view,
				"Capabilities": caps,
				"Template":     templateInfo{Name: n, BasePath: filepath.Dir(n)},
			}})
		}
	}
	sort.Slice(targets, func(a, b int) bool { return targets[a].name < targets[b].name })
	var out bytes.Buffer
	for _, t := range targets {
		var buf strings.Builder
		if err := root.ExecuteTemplate(&buf, t.name, t.data); err != nil {
			return err
		}
		text := strings.ReplaceAll(buf.String(), "<no value>", "")
		for i, doc := range strings.Split("\n"+text, "\n---") {
			if strings.TrimSpace(doc) == "" {
				continue
			}
			var probe interface{}
			if err := yaml.Unmarshal([]byte(doc), &probe); err != nil {
				return fmt.Errorf("%s (document %d): rendered YAML does not parse: %w\n%s", t.name, i+1, err, doc)
			}
			if probe == nil {
				continue // only comments
			}
			fmt.Fprintf(&out, "---\n# Source: %s\n%s\n", t.name, strings.Trim(doc, "\n"))
		}
	}
	_, err = os.Stdout.Write(out.Bytes())
	return err
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "helmrender: error:", err)
		os.Exit(1)
	}
}
