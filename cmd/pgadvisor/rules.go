package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"
	"github.com/urfave/cli/v2"

	"github.com/pgadvisor/pgadvisor/advisor"
)

func rulesCommand() *cli.Command {
	return &cli.Command{
		Name:      "rules",
		Usage:     "list the rule catalog: ids, families, default severities and what each finds",
		ArgsUsage: "[RULE-ID...]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "table", Usage: "table or json"},
			&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "print each rule's full documentation and thresholds"},
		},
		Action: func(c *cli.Context) error {
			rules := advisor.All()
			if c.NArg() > 0 {
				rules = nil
				for _, id := range c.Args().Slice() {
					r := advisor.Lookup(id)
					if r == nil {
						return usageErr("unknown rule %q (pgadvisor rules lists them)", id)
					}
					rules = append(rules, r)
				}
			}
			w := c.App.Writer
			switch c.String("format") {
			case "json":
				type jsonRule struct {
					ID         string `json:"id"`
					Family     string `json:"family"`
					Severity   string `json:"severity"`
					Title      string `json:"title"`
					Doc        string `json:"doc"`
					Thresholds string `json:"thresholds"`
				}
				out := make([]jsonRule, 0, len(rules))
				for _, r := range rules {
					out = append(out, jsonRule{r.Name, r.Family, string(r.Severity), r.Title(), r.Doc, r.Thresholds})
				}
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				return enc.Encode(out)
			case "table":
			default:
				return usageErr("unknown --format %q: use table or json", c.String("format"))
			}
			if c.Bool("verbose") || c.NArg() > 0 {
				for i, r := range rules {
					if i > 0 {
						fmt.Fprintln(w)
					}
					fmt.Fprintf(w, "%s (%s, %s)\n%s\n\nThresholds: %s\n", r.Name, r.Family, r.Severity, strings.TrimSpace(r.Doc), oneLineText(r.Thresholds))
				}
				return nil
			}
			t := tablewriter.NewTable(w,
				tablewriter.WithRendition(tw.Rendition{Symbols: tw.NewSymbols(tw.StyleASCII)}),
				tablewriter.WithHeaderAutoFormat(tw.Off),
				tablewriter.WithRowAutoWrap(tw.WrapNone),
			)
			t.Header("RULE", "FAMILY", "FINDS")
			for _, r := range rules {
				if err := t.Append([]string{r.Name, r.Family, wrapWords(r.Title(), 56)}); err != nil {
					return err
				}
			}
			return t.Render()
		},
	}
}

// wrapWords breaks text at spaces into lines of at most width bytes.
func wrapWords(text string, width int) string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(text) {
		if line != "" && len(line)+1+len(w) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	return strings.Join(append(lines, line), "\n")
}

func oneLineText(s string) string { return strings.Join(strings.Fields(s), " ") }
