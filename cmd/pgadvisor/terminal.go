package main

import (
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/urfave/cli/v2"

	"github.com/pgadvisor/pgadvisor/internal/suggest"
)

// isTerminal reports whether w is a terminal. Only the CLI asks: printers and
// the audit package are told. A variable so tests can pretend.
var isTerminal = func(w io.Writer) bool {
	f, ok := w.(interface{ Fd() uintptr })
	if !ok {
		return false
	}
	return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
}

// colourWanted: colour on a terminal, unless NO_COLOR is set (https://no-color.org).
func colourWanted(w io.Writer) bool {
	return os.Getenv("NO_COLOR") == "" && isTerminal(w)
}

// progressDelay is how long work runs before progress is shown: what takes
// less than that shows nothing.
const progressDelay = time.Second

// progress is one status line on stderr, overwritten in place (\r) and
// cleared at the end. Only used when stderr is a terminal.
type progress struct {
	w       io.Writer
	mu      sync.Mutex
	line    string
	visible bool // the delay has passed
	done    bool // cleared: draw nothing more
	width   int  // runes on screen
	timer   *time.Timer
}

func newProgress(w io.Writer, delay time.Duration) *progress {
	p := &progress{w: w}
	p.timer = time.AfterFunc(delay, func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if !p.done {
			p.visible = true
			p.draw()
		}
	})
	return p
}

// update is an audit.Options.Progress callback.
func (p *progress) update(phase string, done, total int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.line = progressText(phase, done, total)
	if p.visible {
		p.draw()
	}
}

func progressText(phase string, done, total int) string {
	switch phase {
	case "collect":
		return "pgadvisor: collecting statistics…"
	case "explain":
		return fmt.Sprintf("pgadvisor: explaining statement %d/%d…", done+1, total)
	case "what-if":
		return "pgadvisor: what-if: evaluating hypothetical indexes…"
	case "verify":
		return "pgadvisor: verify: measuring the chosen indexes…"
	}
	return "pgadvisor: " + phase + "…"
}

func (p *progress) draw() {
	if p.line == "" {
		return
	}
	n := len([]rune(p.line))
	pad := ""
	if p.width > n {
		pad = strings.Repeat(" ", p.width-n)
	}
	fmt.Fprint(p.w, "\r"+p.line+pad)
	p.width = n
}

// clear erases the line and stops further drawing.
func (p *progress) clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.timer.Stop()
	p.done = true
	p.visible = false
	if p.width > 0 {
		fmt.Fprint(p.w, "\r"+strings.Repeat(" ", p.width)+"\r")
		p.width = 0
	}
}

// onUsageError handles flag parsing errors of every command: the message
// names the expected form, then one usage line (not the whole help).
func onUsageError(c *cli.Context, err error, isSubcommand bool) error {
	name := c.App.Name
	var cmd *cli.Command
	if isSubcommand && c.Command != nil {
		cmd = c.Command
		name += " " + cmd.Name
	}
	usage := "usage: " + name + " [flags]"
	if cmd != nil && cmd.ArgsUsage != "" {
		usage += " " + cmd.ArgsUsage
	}
	usage += "; see " + name + " --help"
	var flags []cli.Flag
	if cmd != nil {
		flags = cmd.Flags
	} else {
		flags = c.App.Flags
	}
	return &exitError{code: exitUsage, err: flagError(flags, err), usage: usage}
}

var invalidValue = regexp.MustCompile(`^invalid value "(.*)" for flag -([^:]+): (.*)$`)

// flagError rewrites the flag package's "invalid value "5" for flag
// -sample-window: parse error" to say what the flag takes.
func flagError(flags []cli.Flag, err error) error {
	m := invalidValue.FindStringSubmatch(err.Error())
	if m == nil {
		return err
	}
	value, name, reason := m[1], m[2], m[3]
	dashes := "--"
	if len(name) == 1 {
		dashes = "-"
	}
	if want := expectedForm(lookupFlag(flags, name)); want != "" {
		reason = want
	}
	return fmt.Errorf("invalid value %q for %s%s: %s", value, dashes, name, reason)
}

func lookupFlag(flags []cli.Flag, name string) cli.Flag {
	for _, f := range flags {
		for _, n := range f.Names() {
			if n == name {
				return f
			}
		}
	}
	return nil
}

// expectedForm says what a flag's value looks like; "" when the parser's
// own reason is better.
func expectedForm(f cli.Flag) string {
	switch f.(type) {
	case *cli.DurationFlag:
		return "use a duration such as 5s"
	case *cli.IntFlag, *cli.Int64Flag, *cli.UintFlag, *cli.Uint64Flag:
		return "use a whole number such as 20"
	case *cli.Float64Flag:
		return "use a number such as 0.5"
	case *cli.BoolFlag:
		return "use true or false"
	}
	return ""
}

// closest is suggest.Closest: the nearest of candidates to s, or "".
func closest(s string, candidates []string) string { return suggest.Closest(s, candidates) }
