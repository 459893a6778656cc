// Command dockerfile-check lints a Dockerfile with BuildKit's own parser and
// build checks, which are the rules of `docker build --check`. It adds the
// project's rules for shippable images and checks every COPY source against
// the build context and its .dockerignore. It prints one JSON report on stdout.
//
// It exits 0 when it could produce a report, even one with findings, and 2
// on a usage or I/O error. The caller decides what a finding means.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Report is the JSON document the command prints.
type Report struct {
	Dockerfile   string    `json:"dockerfile"`
	Findings     []Finding `json:"findings"`
	Stages       []Stage   `json:"stages"`
	ContextFiles []string  `json:"contextFiles,omitempty"`
}

// Finding is one rule violation, from BuildKit or from this tool.
type Finding struct {
	Rule    string `json:"rule"`
	Source  string `json:"source"`
	Line    int    `json:"line"`
	Message string `json:"message"`
}

type buildArgs map[string]string

func (b buildArgs) String() string { return fmt.Sprint(map[string]string(b)) }

func (b buildArgs) Set(value string) error {
	key, val, ok := strings.Cut(value, "=")
	if !ok || key == "" {
		return fmt.Errorf("invalid --build-arg %q; expected NAME=VALUE", value)
	}
	b[key] = val
	return nil
}

func main() {
	contextDir := flag.String("context", ".", "build context directory")
	dockerfile := flag.String("file", "", "Dockerfile path (default: Dockerfile in the context)")
	listContext := flag.Bool("list-context", false, "also list every file of the context that .dockerignore lets through")
	args := buildArgs{}
	flag.Var(args, "build-arg", "build argument NAME=VALUE, as docker build takes it; repeatable")
	flag.Parse()

	if *dockerfile == "" {
		*dockerfile = filepath.Join(*contextDir, "Dockerfile")
	}
	report, err := check(context.Background(), *contextDir, *dockerfile, args, *listContext)
	if err != nil {
		fmt.Fprintf(os.Stderr, "dockerfile-check: %v\n", err)
		os.Exit(2)
	}
	encoder := json.NewEncoder(os.Stdout)
	encoder.SetIndent("", "  ")
	if err := encoder.Encode(report); err != nil {
		fmt.Fprintf(os.Stderr, "dockerfile-check: writing the report failed: %v\n", err)
		os.Exit(2)
	}
}

func check(ctx context.Context, contextDir, dockerfile string, args buildArgs, listContext bool) (*Report, error) {
	source, err := os.ReadFile(dockerfile)
	if err != nil {
		return nil, err
	}
	report := &Report{Dockerfile: dockerfile, Findings: []Finding{}}

	buildkitFindings, err := lintWithBuildKit(ctx, dockerfile, source, args)
	if err != nil {
		return nil, err
	}
	report.Findings = append(report.Findings, buildkitFindings...)

	stages, err := parseStages(source, args)
	if err != nil {
		// BuildKit already reported the parse error as a finding, and there are no stages to check further.
		return report, nil
	}
	report.Stages = stages
	report.Findings = append(report.Findings, checkImageRules(stages)...)

	buildContext, err := openBuildContext(contextDir)
	if err != nil {
		return nil, err
	}
	report.Findings = append(report.Findings, checkCopySources(stages, buildContext)...)
	if listContext {
		if report.ContextFiles, err = buildContext.includedFiles(); err != nil {
			return nil, err
		}
	}
	return report, nil
}
