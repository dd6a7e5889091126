#!/usr/bin/env python3
"""Checks the files `runtime package manifests` wrote into DIR with each platform's own tools:
cfn-lint for the SAM template, kubernetes-validate (the Kubernetes API's schemas) for CronJobs,
the fields Cloud Run requires for its YAML, json for ECS, croniter for crontab lines and
`systemd-analyze calendar` for timers. Prints one line per file checked; exits 1 on the first problem."""
import json
import subprocess
import sys
from pathlib import Path

import yaml
from croniter import croniter


def fail(message):
    print(f"FAIL {message}")
    sys.exit(1)


def need(document, path, where):
    value = document
    for key in path.split("."):
        if isinstance(value, list):
            value = value[int(key)]
        elif isinstance(value, dict) and key in value:
            value = value[key]
        else:
            fail(f"{where}: missing {path}")
    return value


def main(directory):
    root = Path(directory)
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        name = str(path.relative_to(root))
        if name == "template.yaml":
            lint = subprocess.run(["cfn-lint", "--format", "parseable", str(path)], capture_output=True, text=True)
            if lint.returncode != 0:
                fail(f"{name}: cfn-lint: {lint.stdout}{lint.stderr}")
            print(f"ok {name} cfn-lint")
        elif name.endswith(".cronjob.yaml"):
            check = subprocess.run(["kubernetes-validate", "--strict", str(path)], capture_output=True, text=True)
            if check.returncode != 0:
                fail(f"{name}: kubernetes-validate: {check.stdout}{check.stderr}")
            document = yaml.safe_load(path.read_text())
            croniter(need(document, "spec.schedule", name))
            print(f"ok {name} kubernetes-validate")
        elif name.endswith(".job.yaml") or name.endswith(".service.yaml"):
            # Cloud Run's YAML has no public schema: its kind and the fields it cannot run without.
            api, kind, container = (("run.googleapis.com/v1", "Job", "spec.template.spec.template.spec.containers.0.image")
                                    if name.endswith(".job.yaml") else
                                    ("serving.knative.dev/v1", "Service", "spec.template.spec.containers.0.image"))
            document = yaml.safe_load(path.read_text())
            if need(document, "apiVersion", name) != api or need(document, "kind", name) != kind:
                fail(f"{name}: not a Cloud Run {kind}")
            need(document, "metadata.name", name)
            need(document, container, name)
            print(f"ok {name} fields")
        elif name.endswith(".task-definition.json"):
            document = json.loads(path.read_text())
            need(document, "family", name)
            need(document, "containerDefinitions.0.image", name)
            print(f"ok {name} json")
        elif name.endswith(".schedule.json"):
            document = json.loads(path.read_text())
            need(document, "ScheduleExpression", name)
            need(document, "Target.EcsParameters.TaskDefinitionArn", name)
            print(f"ok {name} json")
        elif name == "crontab":
            for line in path.read_text().splitlines():
                if line.startswith("#") or line.startswith("CRON_TZ=") or not line.strip():
                    continue
                croniter(" ".join(line.split()[:5]))
            print(f"ok {name} croniter")
        elif name.endswith(".timer"):
            for line in path.read_text().splitlines():
                if line.startswith("OnCalendar="):
                    check = subprocess.run(["systemd-analyze", "calendar", line.split("=", 1)[1]], capture_output=True, text=True)
                    if check.returncode != 0:
                        fail(f"{name}: systemd-analyze calendar: {check.stderr}")
            print(f"ok {name} systemd-analyze")
        elif name.endswith(".service") or name.endswith(".sh"):
            print(f"ok {name} present")
        else:
            fail(f"{name}: unexpected file")


if __name__ == "__main__":
    main(sys.argv[1])
