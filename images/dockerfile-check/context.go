package main

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// buildContext is a directory as `docker build` sends it: every file that
// the .dockerignore at its root does not exclude, matched by the same
// pattern matcher the Docker CLI and BuildKit use.
type buildContext struct {
	root    string
	matcher *patternmatcher.PatternMatcher
	// exceptions are the `!` patterns, split into path segments, which decide whether an excluded directory must still be walked.
	exceptions [][]string
}

func openBuildContext(root string) (*buildContext, error) {
	patterns := []string{}
	file, err := os.Open(filepath.Join(root, ".dockerignore"))
	switch {
	case err == nil:
		defer file.Close()
		if patterns, err = ignorefile.ReadAll(file); err != nil {
			return nil, err
		}
	case !errors.Is(err, fs.ErrNotExist):
		return nil, err
	}
	matcher, err := patternmatcher.New(patterns)
	if err != nil {
		return nil, err
	}
	context := &buildContext{root: root, matcher: matcher}
	for _, pattern := range matcher.Patterns() {
		if pattern.Exclusion() {
			context.exceptions = append(context.exceptions, strings.Split(pattern.String(), "/"))
		}
	}
	return context, nil
}

// isExcluded reports whether .dockerignore keeps a path, relative to the root with slashes, out of the context.
func (c *buildContext) isExcluded(relative string) bool {
	excluded, err := c.matcher.MatchesOrParentMatches(relative)
	return err == nil && excluded
}

// mayContainIncluded reports whether an exception pattern could re-include something below an excluded directory.
func (c *buildContext) mayContainIncluded(directory string) bool {
	segments := strings.Split(directory, "/")
	for _, exception := range c.exceptions {
		if prefixMayMatch(exception, segments) {
			return true
		}
	}
	return false
}

func prefixMayMatch(pattern, segments []string) bool {
	for index, segment := range segments {
		if index >= len(pattern) {
			return false
		}
		if pattern[index] == "**" {
			return true
		}
		if matched, err := path.Match(pattern[index], segment); err != nil || !matched {
			return false
		}
	}
	return true
}

// includedFiles lists every regular file and symlink the context sends, relative to its root, sorted.
func (c *buildContext) includedFiles() ([]string, error) {
	files := []string{}
	err := filepath.WalkDir(c.root, func(full string, entry fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		relative, err := filepath.Rel(c.root, full)
		if err != nil || relative == "." {
			return err
		}
		relative = filepath.ToSlash(relative)
		excluded := c.isExcluded(relative)
		if entry.IsDir() {
			if excluded && !c.mayContainIncluded(relative) {
				return filepath.SkipDir
			}
			return nil
		}
		if !excluded {
			files = append(files, relative)
		}
		return nil
	})
	slices.Sort(files)
	return files, err
}

// checkCopySources reports each COPY or ADD source from the context that
// matches no file there, or only files that .dockerignore excludes, because
// `docker build` fails on both.
func checkCopySources(stages []Stage, context *buildContext) []Finding {
	findings := []Finding{}
	var files []string
	for _, stage := range stages {
		for _, instruction := range stage.Instructions {
			if (instruction.Kind != "copy" && instruction.Kind != "add") || instruction.From != "" {
				continue
			}
			for _, source := range instruction.Sources {
				if strings.Contains(source, "://") {
					continue
				}
				if files == nil {
					var err error
					if files, err = context.includedFiles(); err != nil {
						return append(findings, finding("ContextUnreadable", instruction.Line, "listing the build context failed: %v", err))
					}
				}
				findings = append(findings, checkSource(context, files, source, instruction.Line)...)
			}
		}
	}
	return findings
}

func checkSource(context *buildContext, files []string, source string, line int) []Finding {
	pattern := strings.TrimSuffix(path.Clean("/"+filepath.ToSlash(source)), "/")
	pattern = strings.TrimPrefix(pattern, "/")
	if pattern == "" || pattern == "." {
		return nil
	}
	if strings.HasPrefix(source, "..") {
		return []Finding{finding("CopySourceOutsideContext", line, "COPY source %s is outside the build context", source)}
	}

	for _, file := range files {
		if matchesSource(pattern, file) {
			return nil
		}
	}
	if onDisk, _ := filepath.Glob(filepath.Join(context.root, filepath.FromSlash(pattern))); len(onDisk) > 0 {
		return []Finding{finding("CopySourceExcluded", line, "COPY source %s exists but .dockerignore excludes it (and everything below it) from the build context", source)}
	}
	return []Finding{finding("CopySourceMissing", line, "COPY source %s matches no file in the build context %s", source, context.root)}
}

// matchesSource reports whether a context file is the source, lies below it, or matches it as a wildcard.
func matchesSource(pattern, file string) bool {
	if file == pattern || strings.HasPrefix(file, pattern+"/") {
		return true
	}
	segments := strings.Split(file, "/")
	for end := 1; end <= len(segments); end++ {
		if matched, _ := path.Match(pattern, strings.Join(segments[:end], "/")); matched {
			return true
		}
	}
	return false
}
