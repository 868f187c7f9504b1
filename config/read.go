package config

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/pgadvisor/pgadvisor/advisor"
	"github.com/pgadvisor/pgadvisor/internal/num"
	"github.com/pgadvisor/pgadvisor/internal/suggest"
)

// topKeys are the keys of the file's top level.
var topKeys = []string{"rules", advisor.SectionCommon, advisor.SectionWhatIf, advisor.SectionReport, PathTrustFunctions, PathIgnore}

// ruleKeys are the keys of a rules.<id> mapping.
var ruleKeys = []string{"enabled", "severity", "thresholds"}

// ignoreKeys are the keys of an ignore entry.
var ignoreKeys = []string{"rule", "object", "fingerprint", "reason"}

// reader reads one file's YAML nodes into a Config, collecting every error.
type reader struct {
	c    *Config
	file string
	errs []error
}

func (r *reader) fail(n *yaml.Node, key, format string, args ...any) {
	r.errs = append(r.errs, &Error{File: r.file, Line: n.Line, Key: key, Msg: fmt.Sprintf(format, args...)})
}

// Read reads the file's content (named path in errors and sources) over c.
// Every problem is reported, each as an *Error, joined.
func (c *Config) Read(path string, data []byte) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	c.Path = path
	r := &reader{c: c, file: path}
	if len(doc.Content) == 0 {
		return nil // an empty file configures nothing
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		r.fail(root, "", "the file must be a mapping of %s", strings.Join(topKeys, ", "))
		return errors.Join(r.errs...)
	}
	r.mapping(root, "", topKeys, func(key string, k, v *yaml.Node) {
		switch key {
		case "rules":
			r.rules(v)
		case advisor.SectionCommon, advisor.SectionWhatIf, advisor.SectionReport:
			r.thresholds(v, key, key)
		case PathTrustFunctions:
			r.trustFunctions(k, v)
		case PathIgnore:
			r.ignore(k, v)
		}
	})
	if len(r.errs) == 0 {
		if err := c.Validate(); err != nil {
			r.errs = append(r.errs, err)
		}
	}
	return errors.Join(r.errs...)
}

// mapping calls each for every key of n in order, after checking that n is a
// mapping, that no key repeats and that every key is one of known (when
// known is not nil); path is n's own path, for messages.
func (r *reader) mapping(n *yaml.Node, path string, known []string, each func(key string, k, v *yaml.Node)) {
	if n.Kind != yaml.MappingNode {
		if n.Tag == "!!null" {
			return // "key:" with nothing under it
		}
		r.fail(n, path, "want a mapping (key: value lines), got %s", describe(n))
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := k.Value
		full := join(path, key)
		if seen[key] {
			r.fail(k, full, "set twice")
			continue
		}
		seen[key] = true
		if known != nil && !slices.Contains(known, key) {
			r.fail(k, full, "unknown key%s (known: %s)", didYouMean(key, known), strings.Join(known, ", "))
			continue
		}
		each(key, k, v)
	}
}

func (r *reader) rules(n *yaml.Node) {
	var ids []string
	for _, rule := range advisor.All() {
		ids = append(ids, rule.Name)
	}
	r.mapping(n, "rules", nil, func(id string, k, v *yaml.Node) {
		if !slices.Contains(ids, id) {
			r.fail(k, "rules."+id, "unknown rule%s (pgadvisor rules lists them)", didYouMean(id, ids))
			return
		}
		path := "rules." + id
		r.mapping(v, path, ruleKeys, func(key string, k, v *yaml.Node) {
			switch key {
			case "enabled":
				var on bool
				if v.Kind != yaml.ScalarNode || v.Tag != "!!bool" || v.Decode(&on) != nil {
					r.fail(v, EnabledPath(id), "want true or false, got %s", describe(v))
					return
				}
				if on {
					delete(r.c.Disabled, id)
				} else {
					r.c.Disabled[id] = true
				}
				r.set(EnabledPath(id), v)
			case "severity":
				sev := advisor.Severity(v.Value)
				if v.Kind != yaml.ScalarNode || sev.Rank() == 0 {
					r.fail(v, SeverityPath(id), "want error, warning or notice, got %s%s", describe(v), didYouMean(v.Value, []string{"error", "warning", "notice"}))
					return
				}
				if r.c.Options.Policy.Severity == nil {
					r.c.Options.Policy.Severity = map[string]advisor.Severity{}
				}
				r.c.Options.Policy.Severity[id] = sev
				r.set(SeverityPath(id), v)
			case "thresholds":
				r.thresholds(v, id, path+".thresholds")
			}
		})
	})
}

// thresholds reads the thresholds of one section (SectionCommon,
// SectionWhatIf or a rule id) from the mapping n at path.
func (r *reader) thresholds(n *yaml.Node, section, path string) {
	own := advisor.SectionThresholds(section)
	var keys []string
	for _, t := range own {
		keys = append(keys, t.Key)
	}
	r.mapping(n, path, nil, func(key string, k, v *yaml.Node) {
		i := slices.IndexFunc(own, func(t advisor.Threshold) bool { return t.Key == key })
		if i < 0 {
			r.fail(k, join(path, key), "unknown threshold%s", elsewhere(section, key, keys))
			return
		}
		t := own[i]
		val, ok := r.number(t, v)
		if !ok {
			return
		}
		if err := t.Set(&r.c.Options, val); err != nil {
			r.fail(v, t.Path(), "%s", valueError(err))
			return
		}
		r.set(t.Path(), v)
	})
}

// number reads a threshold's value: a YAML number, or for a size a string
// such as 2GB.
func (r *reader) number(t advisor.Threshold, v *yaml.Node) (float64, bool) {
	if v.Kind == yaml.ScalarNode && (v.Tag == "!!int" || v.Tag == "!!float") {
		f, err := strconv.ParseFloat(strings.ReplaceAll(v.Value, "_", ""), 64)
		if err != nil {
			var i int64
			if derr := v.Decode(&i); derr != nil {
				r.fail(v, t.Path(), "not a number: %q", v.Value)
				return 0, false
			}
			f = float64(i)
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			r.fail(v, t.Path(), "want a finite number, got %s", v.Value)
			return 0, false
		}
		return f, true
	}
	if t.Size && v.Kind == yaml.ScalarNode && v.Tag == "!!str" {
		n, err := num.ParseSize(v.Value)
		if err != nil {
			r.fail(v, t.Path(), "%v", err)
			return 0, false
		}
		return float64(n), true
	}
	want := "a number"
	if t.Size {
		want = "a size such as 500MB or 2GB, or a number of bytes"
	}
	r.fail(v, t.Path(), "want %s (%s), got %s", want, t.Range, describe(v))
	return 0, false
}

func (r *reader) trustFunctions(k, v *yaml.Node) {
	var names []string
	switch {
	case v.Kind == yaml.SequenceNode:
		for _, item := range v.Content {
			if item.Kind != yaml.ScalarNode || item.Tag != "!!str" || strings.TrimSpace(item.Value) == "" {
				r.fail(item, PathTrustFunctions, "want a function name (schema.name or name), got %s", describe(item))
				return
			}
			names = append(names, strings.TrimSpace(item.Value))
		}
	case v.Tag == "!!null":
	default:
		r.fail(v, PathTrustFunctions, "want a list of function names, e.g. [public.slugify], got %s", describe(v))
		return
	}
	r.c.TrustFunctions = names
	r.set(PathTrustFunctions, k)
}

func (r *reader) ignore(k, v *yaml.Node) {
	if v.Tag == "!!null" {
		return
	}
	if v.Kind != yaml.SequenceNode {
		r.fail(v, PathIgnore, "want a list of entries (- rule: ..., object: ... or fingerprint: ..., reason: ...), got %s", describe(v))
		return
	}
	var ids []string
	for _, rule := range advisor.All() {
		ids = append(ids, rule.Name)
	}
	for i, item := range v.Content {
		path := fmt.Sprintf("%s[%d]", PathIgnore, i)
		var ig advisor.Ignore
		before := len(r.errs)
		r.mapping(item, path, ignoreKeys, func(key string, k, v *yaml.Node) {
			if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
				r.fail(v, join(path, key), "want text, got %s", describe(v))
				return
			}
			switch key {
			case "rule":
				if !slices.Contains(ids, v.Value) {
					r.fail(v, join(path, key), "unknown rule %q%s", v.Value, didYouMean(v.Value, ids))
				}
				ig.Rule = v.Value
			case "object":
				ig.Object = v.Value
			case "fingerprint":
				ig.Fingerprint = v.Value
			case "reason":
				ig.Reason = strings.TrimSpace(v.Value)
			}
		})
		if len(r.errs) > before || item.Kind != yaml.MappingNode {
			continue
		}
		switch {
		case ig.Rule == "":
			r.fail(item, path, "rule is required")
		case ig.Object == "" && ig.Fingerprint == "":
			r.fail(item, path, "say what to ignore: object (a schema-qualified table or index) or fingerprint (a statement's)")
		case ig.Reason == "":
			r.fail(item, path, "reason is required: say why the finding does not apply")
		default:
			r.c.Options.Policy.Ignore = append(r.c.Options.Policy.Ignore, ig)
		}
	}
	r.set(PathIgnore, k)
}

// valueError is the message of a *advisor.ThresholdError without its key
// (the Error names the path): "1.5 is out of range: a fraction from 0 to 1".
func valueError(err error) string {
	var te *advisor.ThresholdError
	if !errors.As(err, &te) {
		return err.Error()
	}
	return strings.TrimPrefix(te.Error(), te.Key+" = ")
}

// set records that the value at path came from this file, at n's line.
func (r *reader) set(path string, n *yaml.Node) {
	r.c.sources[path] = fmt.Sprintf("%s:%d", r.file, n.Line)
	r.c.lines[path] = n.Line
}

// elsewhere explains an unknown threshold key: where it belongs when it is
// another section's, else the nearest key of this section.
func elsewhere(section, key string, keys []string) string {
	for _, t := range advisor.Thresholds() {
		if t.Key != key || t.Section == section {
			continue
		}
		return fmt.Sprintf(": %s is set at %s", key, t.Path())
	}
	hint := didYouMean(key, keys)
	if len(keys) == 0 {
		return hint + " (this rule has no thresholds of its own; the shared ones are under " + advisor.SectionCommon + ":)"
	}
	return hint + " (known: " + strings.Join(keys, ", ") + ")"
}

func didYouMean(s string, known []string) string {
	if c := suggest.Closest(s, known); c != "" {
		return "; did you mean " + c + "?"
	}
	return ""
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// describe names a node's kind for messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	if n.Tag == "!!null" {
		return "nothing"
	}
	return strconv.Quote(n.Value)
}
