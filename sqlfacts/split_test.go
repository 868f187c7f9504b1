package sqlfacts

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestSplit(t *testing.T) {
	file := "-- migration 001\n" +
		"CREATE TABLE a (id int);\n" +
		"\n" +
		"/* block */ CREATE INDEX CONCURRENTLY a_idx ON a (id);\n" +
		"INSERT INTO a VALUES (1), (2); SELECT 'x;y' FROM a;\n" +
		"CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$\n" +
		"BEGIN\n" +
		"  RETURN 1;\n" +
		"END $$;\n" +
		"  SELECT 'é' ; SELECT 'é';\n" +
		"-- trailing comment\n"
	want := []Piece{
		{SQL: "CREATE TABLE a (id int)", Line: 2, Column: 1, Offset: 17, Leading: "-- migration 001\n"},
		{SQL: "CREATE INDEX CONCURRENTLY a_idx ON a (id)", Line: 4, Column: 13, Offset: 55, Leading: "\n\n/* block */ "},
		{SQL: "INSERT INTO a VALUES (1), (2)", Line: 5, Column: 1, Offset: 98, Leading: "\n"},
		{SQL: "SELECT 'x;y' FROM a", Line: 5, Column: 32, Offset: 129, Leading: " "},
		{SQL: "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$\nBEGIN\n  RETURN 1;\nEND $$", Line: 6, Column: 1, Offset: 150, Leading: "\n"},
		{SQL: "SELECT 'é'", Line: 10, Column: 3, Offset: 233, Leading: "\n  "},
		{SQL: "SELECT 'é'", Line: 10, Column: 16, Offset: 247, Leading: " "},
	}
	got, err := Split(file)
	if err != nil {
		t.Fatalf("Split: %v", err)
	}
	if len(got) != len(want) {
		t.Fatalf("got %d pieces, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("piece %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
		if file[got[i].Offset:got[i].Offset+len(got[i].SQL)] != got[i].SQL {
			t.Errorf("piece %d: Offset does not point at SQL", i)
		}
	}
}

func TestSplitSyntaxError(t *testing.T) {
	file := "SELECT 1;\n\nSELECT 2;\nUPDATE t SET a = 1\n  WHERE b = = 2;\nSELECT 'x;y';\n"
	got, err := Split(file)
	if err != nil {
		t.Fatalf("Split: %v", err)
	}
	// One bad statement does not hide the others.
	var sqls []string
	for _, p := range got {
		sqls = append(sqls, p.SQL)
	}
	want := []string{"SELECT 1", "SELECT 2", "UPDATE t SET a = 1\n  WHERE b = = 2", "SELECT 'x;y'"}
	if !reflect.DeepEqual(sqls, want) {
		t.Fatalf("pieces %q, want %q", sqls, want)
	}
	for i, p := range got {
		if (p.Err != nil) != (i == 2) {
			t.Errorf("piece %d: error %v", i, p.Err)
		}
	}
	wantErr := SyntaxError{Message: `syntax error at or near "="`, Position: 53, Line: 5, Column: 13}
	if se := got[2].Err; se == nil || *se != wantErr {
		t.Errorf("got %+v, want %+v", se, wantErr)
	}
	var target *SyntaxError
	if !errors.As(error(got[2].Err), &target) {
		t.Error("Err is not usable as an error")
	}
}

func TestSplitInvalidUTF8(t *testing.T) {
	file := "SELECT 1;\nSELECT '\xff';\nSELECT 3;\n"
	got, err := Split(file)
	if err != nil {
		t.Fatalf("Split: %v", err)
	}
	if len(got) != 3 {
		t.Fatalf("got %d pieces: %+v", len(got), got)
	}
	if got[0].Err != nil || got[2].Err != nil {
		t.Errorf("valid statements got errors: %v, %v", got[0].Err, got[2].Err)
	}
	if se := got[1].Err; se == nil || se.Line != 2 || !strings.Contains(se.Message, "UTF-8") {
		t.Errorf("invalid statement: %+v, want a UTF-8 syntax error on line 2", se)
	}
}

func TestSplitEmpty(t *testing.T) {
	got, err := Split("-- nothing\n  \n")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Errorf("got %d pieces from a file of comments: %+v", len(got), got)
	}
}
