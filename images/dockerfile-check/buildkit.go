package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	"github.com/moby/buildkit/frontend/dockerui"
	"github.com/opencontainers/go-digest"
)

// lintWithBuildKit runs the checks of `docker build --check` on every stage
// and converts BuildKit's warnings and its build error into findings.
func lintWithBuildKit(ctx context.Context, dockerfile string, source []byte, args buildArgs) ([]Finding, error) {
	// The source map names the Dockerfile in BuildKit's messages, and it needs a marshalled state.
	state := llb.Local("dockerfile")
	sourceMap := llb.NewSourceMap(&state, filepath.Base(dockerfile), "Dockerfile", source)
	definition, err := state.Marshal(ctx)
	if err != nil {
		return nil, err
	}
	sourceMap.Definition = definition

	results, err := dockerfile2llb.DockerfileLint(ctx, source, dockerfile2llb.ConvertOpt{
		Config:       dockerui.Config{BuildArgs: args},
		SourceMap:    sourceMap,
		MetaResolver: offlineImageResolver{},
	})
	if err != nil {
		return nil, fmt.Errorf("BuildKit lint of %s failed: %w", dockerfile, err)
	}

	findings := []Finding{}
	for _, warning := range results.Warnings {
		line := 0
		if warning.Location != nil && len(warning.Location.Ranges) > 0 && warning.Location.Ranges[0].Start != nil {
			line = int(warning.Location.Ranges[0].Start.Line)
		}
		findings = append(findings, Finding{Rule: warning.RuleName, Source: "buildkit", Line: line, Message: warning.Detail})
	}
	if results.Error != nil {
		line := 0
		if ranges := results.Error.Location.Ranges; len(ranges) > 0 && ranges[0].Start != nil {
			line = int(ranges[0].Start.Line)
		}
		findings = append(findings, Finding{Rule: "BuildError", Source: "buildkit", Line: line, Message: results.Error.Message})
	}
	return findings, nil
}

// offlineImageResolver replaces the registry, which this tool must never
// call. It returns a minimal Linux image config for every base image, in the
// requested platform.
//
// NOTE: rules that depend on the real base image, such as its platforms or
// the environment that UndefinedVar reads, see this config, not the image.
type offlineImageResolver struct{}

func (offlineImageResolver) ResolveImageConfig(_ context.Context, ref string, opt sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	os, architecture := "linux", "amd64"
	if opt.ImageOpt != nil && opt.ImageOpt.Platform != nil {
		os, architecture = opt.ImageOpt.Platform.OS, opt.ImageOpt.Platform.Architecture
	}
	config := map[string]any{
		"os":           os,
		"architecture": architecture,
		"config":       map[string]any{"Env": []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}},
		// One layer, so BuildKit does not treat the base as `scratch`.
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{digest.FromString(ref).String()}},
	}
	encoded, err := json.Marshal(config)
	return ref, "", encoded, err
}
