package main

import (
	"bytes"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// Stage is one build stage as the report shows it: its instructions, and the
// image settings it ends with, inherited from the stages it is based on.
type Stage struct {
	Name string `json:"name"`
	Line int    `json:"line"`
	// Base is the FROM reference with build arguments expanded.
	Base string `json:"base"`
	// BaseStage is set when Base names an earlier stage rather than an image.
	BaseStage string `json:"baseStage,omitempty"`
	// IsTarget marks a stage no other stage builds on or copies from: an image to ship.
	IsTarget     bool          `json:"isTarget"`
	Instructions []Instruction `json:"instructions"`

	User        string            `json:"user"`
	Workdir     string            `json:"workdir"`
	Entrypoint  []string          `json:"entrypoint,omitempty"`
	Cmd         []string          `json:"cmd,omitempty"`
	Healthcheck []string          `json:"healthcheck,omitempty"`
	Env         map[string]string `json:"env"`
	Labels      map[string]string `json:"labels"`

	userLine, healthcheckLine, entrypointLine int
}

// Instruction is one COPY, ADD, RUN or WORKDIR, with paths as written and
// variables expanded.
type Instruction struct {
	Kind    string   `json:"kind"`
	Line    int      `json:"line"`
	From    string   `json:"from,omitempty"`
	Sources []string `json:"sources,omitempty"`
	Dest    string   `json:"dest,omitempty"`
	// Workdir is the working directory the instruction runs in or resolves relative paths against.
	Workdir string `json:"workdir,omitempty"`
	// Command is a RUN's command line. Shell is true when it runs through /bin/sh -c.
	Command []string `json:"command,omitempty"`
	Shell   bool     `json:"shell,omitempty"`
}

type variables map[string]string

func (v variables) Get(key string) (string, bool) { value, ok := v[key]; return value, ok }

func (v variables) Keys() []string {
	keys := make([]string, 0, len(v))
	for key := range v {
		keys = append(keys, key)
	}
	slices.Sort(keys)
	return keys
}

// parseStages reads the Dockerfile into stages with effective settings.
func parseStages(source []byte, args buildArgs) ([]Stage, error) {
	parsed, err := parser.Parse(bytes.NewReader(source))
	if err != nil {
		return nil, err
	}
	rawStages, metaArgs, err := instructions.Parse(parsed.AST, nil)
	if err != nil {
		return nil, err
	}
	lex := shell.NewLex(parsed.EscapeToken)

	globalArgs := variables{}
	for _, command := range metaArgs {
		for _, arg := range command.Args {
			value, err := resolveArg(arg, args, globalArgs, lex)
			if err != nil {
				return nil, err
			}
			globalArgs[arg.Key] = value
		}
	}

	stages := make([]Stage, 0, len(rawStages))
	byName := map[string]int{}
	for index, raw := range rawStages {
		stage, err := buildStage(index, raw, stages, byName, globalArgs, args, lex)
		if err != nil {
			return nil, err
		}
		stages = append(stages, stage)
		byName[stage.Name] = index
	}
	markTargets(stages)
	return stages, nil
}

func resolveArg(arg instructions.KeyValuePairOptional, args buildArgs, scope variables, lex *shell.Lex) (string, error) {
	if value, ok := args[arg.Key]; ok {
		return value, nil
	}
	if arg.Value == nil {
		return scope[arg.Key], nil
	}
	value, _, err := lex.ProcessWord(*arg.Value, scope)
	return value, err
}

func buildStage(index int, raw instructions.Stage, earlier []Stage, byName map[string]int, globalArgs variables, args buildArgs, lex *shell.Lex) (Stage, error) {
	base, _, err := lex.ProcessWord(raw.BaseName, globalArgs)
	if err != nil {
		return Stage{}, fmt.Errorf("line %d: expanding FROM %s: %w", raw.Location[0].Start.Line, raw.BaseName, err)
	}
	stage := Stage{Name: raw.Name, Line: raw.Location[0].Start.Line, Base: base, Workdir: "/", Env: map[string]string{}, Labels: map[string]string{}}
	if stage.Name == "" {
		stage.Name = fmt.Sprint(index)
	}
	if parent, ok := byName[base]; ok {
		inherit(&stage, earlier[parent])
	}

	scope := variables{}
	for key, value := range stage.Env {
		scope[key] = value
	}
	expand := func(word string) (string, error) {
		value, _, err := lex.ProcessWord(word, scope)
		return value, err
	}
	for _, command := range raw.Commands {
		if err := applyCommand(&stage, command, scope, globalArgs, args, lex, expand); err != nil {
			return Stage{}, err
		}
	}
	return stage, nil
}

func inherit(stage *Stage, parent Stage) {
	stage.BaseStage = parent.Name
	stage.User, stage.Workdir = parent.User, parent.Workdir
	stage.Entrypoint, stage.Cmd, stage.Healthcheck = parent.Entrypoint, parent.Cmd, parent.Healthcheck
	stage.userLine, stage.healthcheckLine, stage.entrypointLine = parent.userLine, parent.healthcheckLine, parent.entrypointLine
	for key, value := range parent.Env {
		stage.Env[key] = value
	}
	for key, value := range parent.Labels {
		stage.Labels[key] = value
	}
}

func applyCommand(stage *Stage, command instructions.Command, scope, globalArgs variables, args buildArgs, lex *shell.Lex, expand func(string) (string, error)) error {
	line := commandLine(command)
	switch c := command.(type) {
	case *instructions.ArgCommand:
		for _, arg := range c.Args {
			value, err := resolveArg(arg, args, mergeScopes(globalArgs, scope), lex)
			if err != nil {
				return err
			}
			scope[arg.Key] = value
		}
	case *instructions.EnvCommand:
		for _, pair := range c.Env {
			value, err := expand(pair.Value)
			if err != nil {
				return err
			}
			stage.Env[pair.Key], scope[pair.Key] = value, value
		}
	case *instructions.LabelCommand:
		for _, pair := range c.Labels {
			value, err := expand(pair.Value)
			if err != nil {
				return err
			}
			stage.Labels[pair.Key] = value
		}
	case *instructions.WorkdirCommand:
		workdir, err := expand(c.Path)
		if err != nil {
			return err
		}
		stage.Workdir = path.Join(stage.Workdir, workdir)
		if path.IsAbs(workdir) {
			stage.Workdir = path.Clean(workdir)
		}
		stage.Instructions = append(stage.Instructions, Instruction{Kind: "workdir", Line: line, Workdir: stage.Workdir})
	case *instructions.UserCommand:
		user, err := expand(c.User)
		if err != nil {
			return err
		}
		stage.User, stage.userLine = user, line
	case *instructions.CopyCommand:
		return appendCopy(stage, "copy", line, c.From, c.SourcesAndDest, expand)
	case *instructions.AddCommand:
		return appendCopy(stage, "add", line, "", c.SourcesAndDest, expand)
	case *instructions.RunCommand:
		stage.Instructions = append(stage.Instructions, Instruction{Kind: "run", Line: line, Workdir: stage.Workdir, Command: c.CmdLine, Shell: c.PrependShell})
	case *instructions.EntrypointCommand:
		stage.Entrypoint, stage.entrypointLine = shellForm(c.CmdLine, c.PrependShell), line
		// An ENTRYPOINT resets the CMD inherited from the base, as in Docker.
		stage.Cmd = nil
	case *instructions.CmdCommand:
		stage.Cmd = shellForm(c.CmdLine, c.PrependShell)
		if stage.entrypointLine == 0 {
			stage.entrypointLine = line
		}
	case *instructions.HealthCheckCommand:
		stage.Healthcheck, stage.healthcheckLine = c.Health.Test, line
	}
	return nil
}

func appendCopy(stage *Stage, kind string, line int, from string, paths instructions.SourcesAndDest, expand func(string) (string, error)) error {
	instruction := Instruction{Kind: kind, Line: line, From: from, Workdir: stage.Workdir}
	for _, source := range paths.SourcePaths {
		expanded, err := expand(source)
		if err != nil {
			return err
		}
		instruction.Sources = append(instruction.Sources, expanded)
	}
	dest, err := expand(paths.DestPath)
	if err != nil {
		return err
	}
	instruction.Dest = dest
	stage.Instructions = append(stage.Instructions, instruction)
	return nil
}

// shellForm returns an exec-form command line as is and wraps a shell-form one the way Docker runs it.
func shellForm(commandLine []string, prependShell bool) []string {
	if prependShell {
		return append([]string{"/bin/sh", "-c"}, commandLine...)
	}
	return commandLine
}

func mergeScopes(scopes ...variables) variables {
	merged := variables{}
	for _, scope := range scopes {
		for key, value := range scope {
			merged[key] = value
		}
	}
	return merged
}

func commandLine(command instructions.Command) int {
	if located, ok := command.(interface{ Location() []parser.Range }); ok {
		if ranges := located.Location(); len(ranges) > 0 {
			return ranges[0].Start.Line
		}
	}
	return 0
}

// markTargets flags the stages that no other stage builds on or copies from.
func markTargets(stages []Stage) {
	used := map[string]bool{}
	for _, stage := range stages {
		if stage.BaseStage != "" {
			used[stage.BaseStage] = true
		}
		for _, instruction := range stage.Instructions {
			if instruction.From != "" {
				// Stage names are case-insensitive, and the parser stores them in lower case.
				used[strings.ToLower(instruction.From)] = true
			}
		}
	}
	for index := range stages {
		stages[index].IsTarget = !used[stages[index].Name]
	}
}
