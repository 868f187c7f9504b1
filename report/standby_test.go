package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// TestStandbyHeader: every format says the audited server is a hot standby,
// and a primary's report does not.
func TestStandbyHeader(t *testing.T) {
	for _, standby := range []bool{false, true} {
		r := loadInput(t)
		r.Server.InRecovery = standby
		if standby {
			r.Server.Role = RoleStandby
		}
		for name, print := range Printers {
			var buf bytes.Buffer
			if err := print(&buf, r); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			var says bool
			switch name {
			case "json":
				var got struct {
					Server struct {
						InRecovery *bool  `json:"in_recovery"`
						Role       string `json:"role"`
					} `json:"server"`
				}
				if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
					t.Fatal(err)
				}
				if got.Server.InRecovery == nil {
					t.Errorf("json: server.in_recovery missing")
					continue
				}
				says = *got.Server.InRecovery && got.Server.Role == "standby"
				if !standby && (got.Server.Role != "" || *got.Server.InRecovery) {
					t.Errorf("json of a primary: in_recovery %v, role %q", *got.Server.InRecovery, got.Server.Role)
				}
			default:
				head := strings.Join(strings.SplitN(out, "\n", 6)[:5], "\n")
				says = strings.Contains(head, "hot standby") && strings.Contains(out, "check the primary and every replica")
				if strings.Contains(out, "hot standby") != standby {
					t.Errorf("%s: mentions a hot standby = %v for standby = %v", name, !standby, standby)
				}
			}
			if says != standby {
				t.Errorf("%s: names the standby = %v, want %v", name, says, standby)
			}
			if name == "table" {
				inFixes := false
				for i, line := range strings.Split(out, "\n") {
					inFixes = inFixes || StartsFixSection(line)
					if n := len([]rune(line)); n > Width && !IsFixSQLLine(line, inFixes) {
						t.Errorf("table line %d is %d columns wide: %q", i+1, n, line)
					}
				}
			}
		}
	}
}
