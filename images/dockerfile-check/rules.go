package main

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/distribution/reference"
)

// The project's rules for what it ships, on top of BuildKit's checks.

// fullVersionTag matches a tag that starts with major.minor.patch, such as
// 20.20.2-bookworm-slim: a release that no longer moves once published.
var fullVersionTag = regexp.MustCompile(`^v?[0-9]+\.[0-9]+\.[0-9]+`)

// numericUser matches UID or UID:GID in numbers, which Kubernetes'
// runAsNonRoot can verify without reading /etc/passwd.
var numericUser = regexp.MustCompile(`^([0-9]+)(:[0-9]+)?$`)

var requiredLabels = []string{
	"org.opencontainers.image.title",
	"org.opencontainers.image.version",
	"org.opencontainers.image.revision",
}

func checkImageRules(stages []Stage) []Finding {
	findings := []Finding{}
	for _, stage := range stages {
		if stage.BaseStage == "" {
			findings = append(findings, checkBaseImage(stage)...)
		}
		for _, instruction := range stage.Instructions {
			findings = append(findings, checkAdd(instruction)...)
		}
		if stage.IsTarget {
			findings = append(findings, checkTarget(stage)...)
		}
	}
	return findings
}

func finding(rule string, line int, format string, values ...any) Finding {
	return Finding{Rule: rule, Source: "croupier", Line: line, Message: fmt.Sprintf(format, values...)}
}

func checkBaseImage(stage Stage) []Finding {
	if stage.Base == "scratch" {
		return nil
	}
	named, err := reference.ParseNormalizedNamed(stage.Base)
	if err != nil {
		return []Finding{finding("BaseImageInvalid", stage.Line, "stage %s: base image %q is not a valid reference: %v", stage.Name, stage.Base, err)}
	}
	_, hasDigest := named.(reference.Digested)
	tagged, hasTag := named.(reference.Tagged)
	switch {
	case hasTag && tagged.Tag() == "latest":
		return []Finding{finding("BaseImageLatest", stage.Line, "stage %s: base image %s uses the tag latest; name a release such as node:20.20.2-bookworm-slim", stage.Name, stage.Base)}
	case hasDigest:
		return nil
	case !hasTag:
		return []Finding{finding("BaseImageNotPinned", stage.Line, "stage %s: base image %s has no tag, which means latest; name a release", stage.Name, stage.Base)}
	case !fullVersionTag.MatchString(tagged.Tag()):
		return []Finding{finding("BaseImageNotPinned", stage.Line, "stage %s: base image tag %q is not a full major.minor.patch release and moves with every update", stage.Name, tagged.Tag())}
	}
	return nil
}

func checkAdd(instruction Instruction) []Finding {
	if instruction.Kind != "add" {
		return nil
	}
	for _, source := range instruction.Sources {
		if strings.Contains(source, "://") || strings.HasPrefix(source, "git@") {
			return []Finding{finding("AddFromUrl", instruction.Line, "ADD downloads %s at build time without a checksum; fetch it in a RUN step that verifies it, or COPY it from the context", source)}
		}
	}
	return []Finding{finding("AddInsteadOfCopy", instruction.Line, "ADD of %s: use COPY, which does not unpack archives behind your back", strings.Join(instruction.Sources, " "))}
}

func checkTarget(stage Stage) []Finding {
	findings := []Finding{}

	user, _, _ := strings.Cut(stage.User, ":")
	match := numericUser.FindStringSubmatch(stage.User)
	switch {
	case stage.User == "":
		findings = append(findings, finding("UserMissing", stage.Line, "image %s runs as root: add USER with a numeric non-root UID:GID", stage.Name))
	case match == nil:
		findings = append(findings, finding("UserNotNumeric", stage.userLine, "image %s: USER %s is not numeric, so runAsNonRoot cannot verify it; use UID:GID", stage.Name, stage.User))
	case user == "0":
		findings = append(findings, finding("UserRoot", stage.userLine, "image %s: USER %s is root; use a UID above 0", stage.Name, stage.User))
	}
	if uid, err := strconv.Atoi(user); err == nil && uid > 0 && uid < 1000 {
		findings = append(findings, finding("UserSystemRange", stage.userLine, "image %s: UID %d is in the range of system users on Debian; use 1000 or above", stage.Name, uid))
	}

	switch {
	case len(stage.Healthcheck) == 0 || stage.Healthcheck[0] == "NONE":
		findings = append(findings, finding("HealthcheckMissing", stage.Line, "image %s has no HEALTHCHECK", stage.Name))
	case stage.Healthcheck[0] != "CMD":
		findings = append(findings, finding("HealthcheckShellForm", stage.healthcheckLine, "image %s: HEALTHCHECK runs through a shell; use the exec form CMD [\"...\"], which works on bases without one", stage.Name))
	}

	command := append(append([]string{}, stage.Entrypoint...), stage.Cmd...)
	if len(command) == 0 {
		findings = append(findings, finding("EntrypointMissing", stage.Line, "image %s has neither ENTRYPOINT nor CMD", stage.Name))
	}

	for _, label := range requiredLabels {
		if stage.Labels[label] == "" {
			findings = append(findings, finding("LabelMissing", stage.Line, "image %s has no %s label", stage.Name, label))
		}
	}
	return findings
}
