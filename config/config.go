// Package config owns the configuration file .pgadvisor.yaml: finding it
// (the working directory or its parents), reading it strictly (an unknown key
// is an error with a "did you mean", every number is range-checked, every
// error names the file, the line and the key) and layering it over the
// defaults into the options every command uses. The CLI layers its flags on
// top through the Set methods, so a Config also knows where each value came
// from (pgadvisor config prints it). It does not run rules, does not apply
// the policy (the findings pipeline does) and never touches a database.
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/pgadvisor/pgadvisor/advisor"
)

// FileName is the name of the configuration file.
const FileName = ".pgadvisor.yaml"

// SourceDefault is the source of a value nobody set.
const SourceDefault = "default"

// Paths of the values that are not thresholds, as Source and the output of
// pgadvisor config name them.
const (
	PathTrustFunctions = "trust_functions"
	PathIgnore         = "ignore"
)

// EnabledPath and SeverityPath are where a rule is switched off and its
// severity overridden.
func EnabledPath(rule string) string  { return "rules." + rule + ".enabled" }
func SeverityPath(rule string) string { return "rules." + rule + ".severity" }

// Config is the effective configuration of one run.
type Config struct {
	// Path is the file read, "" when there was none.
	Path string
	// Options are the thresholds, the what-if options and the Policy
	// (severity overrides and ignore entries) the rules and the findings
	// pipeline read.
	Options advisor.Options
	// Disabled are the rules turned off (rules.<id>.enabled: false).
	Disabled map[string]bool
	// TrustFunctions are the user functions the safety gate trusts.
	TrustFunctions []string

	sources map[string]string // by path; absent: SourceDefault
	lines   map[string]int    // by path, the line in Path of values set there
}

// Default is the configuration without a file: the defaults.
func Default() *Config {
	return &Config{
		Options:  advisor.DefaultOptions(),
		Disabled: map[string]bool{},
		sources:  map[string]string{},
		lines:    map[string]int{},
	}
}

// Find returns the nearest FileName in dir or its parents, or "" when there
// is none. The search stops at the root of the repository dir is in (the
// directory holding .git), so a file outside the project never applies.
func Find(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("find %s: %w", FileName, err)
	}
	for {
		path := filepath.Join(dir, FileName)
		info, err := os.Stat(path)
		switch {
		case err == nil && info.Mode().IsRegular():
			return path, nil
		case err == nil:
			return "", fmt.Errorf("%s is not a regular file", path)
		case !errors.Is(err, fs.ErrNotExist):
			return "", fmt.Errorf("find %s: %w", FileName, err)
		}
		if _, err := os.Stat(filepath.Join(dir, ".git")); err == nil {
			return "", nil // the repository's root, without the file
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", nil
		}
		dir = parent
	}
}

// Load is Default with the file at path read over it; path "" is no file.
func Load(path string) (*Config, error) {
	c := Default()
	if path == "" {
		return c, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read configuration: %w", err)
	}
	if err := c.Read(path, data); err != nil {
		return nil, err
	}
	return c, nil
}

// Source says where the value at path (a Threshold's Path, EnabledPath,
// SeverityPath, PathTrustFunctions, PathIgnore) came from: SourceDefault,
// FILE:LINE, or what the caller of a Set method named (a flag).
func (c *Config) Source(path string) string {
	if s, ok := c.sources[path]; ok {
		return s
	}
	return SourceDefault
}

// SetThreshold sets a threshold from a flag or another file, recording the
// source; the value is range-checked (*advisor.ThresholdError).
func (c *Config) SetThreshold(t advisor.Threshold, v float64, source string) error {
	if err := t.Set(&c.Options, v); err != nil {
		return err
	}
	c.sources[t.Path()] = source
	delete(c.lines, t.Path())
	return nil
}

// SetTrustFunctions replaces the trusted functions (a flag overrides the file).
func (c *Config) SetTrustFunctions(names []string, source string) {
	c.TrustFunctions = slices.Clone(names)
	c.sources[PathTrustFunctions] = source
}

// Validate checks the relations between thresholds (a maximum not below its
// minimum) once every layer is applied; an error about a value the file set
// names the file and line.
func (c *Config) Validate() error {
	err := c.Options.Validate()
	if err == nil {
		return nil
	}
	var errs []error
	for _, e := range unjoin(err) {
		var te *advisor.ThresholdError
		if errors.As(e, &te) {
			if line, ok := c.lines[te.Path]; ok {
				errs = append(errs, &Error{File: c.Path, Line: line, Key: te.Path, Msg: valueError(te)})
				continue
			}
			if line, ok := c.lines[te.Other]; ok && te.Other != "" {
				errs = append(errs, &Error{File: c.Path, Line: line, Key: te.Other, Msg: te.Error()})
				continue
			}
			if src := c.Source(te.Path); src != SourceDefault {
				errs = append(errs, fmt.Errorf("%s (%s, from %s)", te, te.Path, src))
				continue
			}
		}
		errs = append(errs, e)
	}
	return errors.Join(errs...)
}

// unjoin lists the errors of an errors.Join.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// Error is a problem in the configuration file: where, which key, what.
type Error struct {
	File string
	Line int
	// Key is the path of the key, e.g. rules.seq-scan.thresholds.large_table_rows.
	Key string
	Msg string
}

func (e *Error) Error() string {
	if e.Key == "" {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s: %s", e.File, e.Line, e.Key, e.Msg)
}
