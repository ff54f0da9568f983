package verify_test

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestREADMEShowsTheExample: README's embedding example is Example's code,
// so that the example a reader copies compiles and prints what it says.
func TestREADMEShowsTheExample(t *testing.T) {
	src, err := os.ReadFile("example_test.go")
	require.NoError(t, err)
	body := string(src)
	i := strings.Index(body, "func Example() {\n")
	require.GreaterOrEqual(t, i, 0)
	body = body[i+len("func Example() {\n"):]
	body = body[:strings.Index(body, "\t// Output:")]
	var want []string
	for _, l := range strings.Split(strings.TrimRight(body, "\n"), "\n") {
		// README's paths are from the repository's root
		want = append(want, strings.ReplaceAll(strings.TrimPrefix(l, "\t"), `"../testdata/`, `"testdata/`))
	}
	readme, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	require.Contains(t, string(readme), strings.Join(want, "\n"), "README's embedding example differs from verify.Example")
}
