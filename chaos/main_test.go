// Package chaos holds the fault tests: while residents use the API, the API
// process is killed with SIGKILL and restarted, Redis is restarted empty and
// MySQL is stopped, and the tests check that nothing acknowledged is lost
// and that the API answers (503 when it must) instead of hanging.
//
// They run against their OWN MariaDB and Redis (deploy/stack.sh with a
// private JINDALAI_STACK_DIR and free loopback ports) and the jindalai binary
// as a child process, never the shared development servers. The short form
// runs in every `go test ./...`; `make chaos` (-tags chaos) runs the long
// form. -short skips them. The stack is started only when `-run` selects a
// test that needs it (see stackNeeded), so `go test ./... -run X` for some
// other package's X costs nothing here.
package chaos

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"jindalai/internal/testbed"
)

// suite is what TestMain prepared for every test.
var suite struct {
	root  string
	bin   string
	stack *testbed.Stack
	skip  string
}

// stackFree names the tests of this package that do not use the stack
// (every other Test function is taken to need it).
var stackFree = map[string]bool{"TestSuiteStartsOnlyForFaultTests": true}

// findTool reports whether a command the stack needs is installed: on PATH
// or in /usr/sbin, which deploy/stack.sh adds to PATH itself.
var findTool = func(name string) error {
	if _, err := exec.LookPath(name); err == nil {
		return nil
	}
	_, err := os.Stat("/usr/sbin/" + name)
	return err
}

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	flag.Parse()
	if testing.Short() {
		suite.skip = "-short: fault tests skipped"
		return m.Run()
	}
	if !stackNeeded() {
		suite.skip = "no fault test selected: the stack was not started"
		return m.Run()
	}
	for _, c := range []string{"mariadbd", "mariadb-install-db", "redis-server"} {
		if findTool(c) != nil {
			suite.skip = c + " not installed (deploy/stack.sh up installs it)"
			if os.Getenv("CI") == "true" {
				fmt.Fprintln(os.Stderr, "chaos:", suite.skip)
				return 1
			}
			return m.Run()
		}
	}
	root, err := testbed.RepoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		return 1
	}
	// A short folder: MariaDB's socket path must stay under 108 bytes.
	dir, err := os.MkdirTemp("", "jdlchaos")
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	suite.root, suite.bin = root, filepath.Join(dir, "jindalai")
	if err := testbed.BuildBinary(ctx, root, suite.bin); err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		return 1
	}
	st, err := testbed.NewStack(root, filepath.Join(dir, "stack"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		return 1
	}
	suite.stack = st
	if err := st.Run("up", 3*time.Minute); err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		_ = st.Run("down", time.Minute)
		return 1
	}
	code := m.Run()
	if err := st.Run("down", time.Minute); err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
	}
	return code
}

// stackNeeded reports whether -test.run and -test.skip select at least one
// test of this package that needs the stack (any Test function not in
// stackFree). In doubt (the sources cannot be read, a pattern does not
// compile) it answers true.
func stackNeeded() bool {
	if flagValue("test.list") != "" {
		return false
	}
	names, err := testNames(".")
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos: list the tests:", err)
		return true
	}
	run, err := compileTopLevel(flagValue("test.run"))
	if err != nil {
		return true
	}
	skip, err := compileTopLevel(flagValue("test.skip"))
	if err != nil {
		return true
	}
	for _, name := range names {
		if !stackFree[name] && (run == nil || run.matches(name)) && (skip == nil || !skip.skips(name)) {
			return true
		}
	}
	return false
}

func flagValue(name string) string {
	if f := flag.Lookup(name); f != nil {
		return f.Value.String()
	}
	return ""
}

// topLevelPattern is how the testing package matches a top-level test
// against a -run or -skip pattern: per alternative (split at unbracketed
// "|"), the part before its first unbracketed "/", and whether the
// alternative goes on to subtests.
type topLevelPattern []topLevelAlternative

type topLevelAlternative struct {
	re       *regexp.Regexp
	subtests bool
}

// compileTopLevel compiles pattern's top-level parts; nil for "".
func compileTopLevel(pattern string) (topLevelPattern, error) {
	if pattern == "" {
		return nil, nil
	}
	var out topLevelPattern
	for _, alt := range splitPattern(pattern) {
		re, err := regexp.Compile(alt[0])
		if err != nil {
			return nil, err
		}
		out = append(out, topLevelAlternative{re: re, subtests: len(alt) > 1})
	}
	return out, nil
}

// matches reports whether -run selects the top-level test name (to run
// itself or some of its subtests).
func (p topLevelPattern) matches(name string) bool {
	for _, alt := range p {
		if alt.re.MatchString(name) {
			return true
		}
	}
	return false
}

// skips reports whether -skip skips the top-level test name whole: the
// first alternative that matches it decides, and one that goes on to
// subtests skips only those.
func (p topLevelPattern) skips(name string) bool {
	for _, alt := range p {
		if alt.re.MatchString(name) {
			return !alt.subtests
		}
	}
	return false
}

// splitPattern splits a -run or -skip pattern as the testing package's
// splitRegexp does: into alternatives at its unbracketed, unparenthesised
// "|", each into one pattern per level at its unbracketed "/".
func splitPattern(s string) [][]string {
	var alts [][]string
	var levels []string
	cs, cp := 0, 0
	for i := 0; i < len(s); {
		switch s[i] {
		case '[':
			cs++
		case ']':
			if cs--; cs < 0 { // an unmatched ']' is legal
				cs = 0
			}
		case '(':
			if cs == 0 {
				cp++
			}
		case ')':
			if cs == 0 {
				cp--
			}
		case '\\':
			i++
		case '/', '|':
			if cs == 0 && cp == 0 {
				levels = append(levels, s[:i])
				if s[i] == '|' {
					alts = append(alts, levels)
					levels = nil
				}
				s, i = s[i+1:], 0
				continue
			}
		}
		i++
	}
	return append(alts, append(levels, s))
}

// testNames lists the Test functions of the _test.go files in dir.
func testNames(dir string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*_test.go"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, errors.New("no _test.go file in " + dir)
	}
	var names []string
	fset := token.NewFileSet()
	for _, f := range files {
		file, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		for _, d := range file.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if ok && fn.Recv == nil && isTestName(fn.Name.Name) {
				names = append(names, fn.Name.Name)
			}
		}
	}
	return names, nil
}

// isTestName is the testing package's rule: Test, then nothing or a
// character that is not a lower-case letter; TestMain is not a test.
func isTestName(name string) bool {
	rest, ok := strings.CutPrefix(name, "Test")
	return ok && name != "TestMain" && (rest == "" || !(rest[0] >= 'a' && rest[0] <= 'z'))
}
