// Builds a tiny pure-Python wheel by hand (a zip with the package, METADATA, WHEEL and RECORD),
// so requirement tests have a real local wheelhouse without any network.
import { execFileSync } from 'node:child_process'

export type BuildWheelParameters = {
  dir: string
  name: string
  version: string
  /** The module's source, as `<name>/__init__.py`. */
  source: string
  requires?: string[]
}

const script = `
import base64, hashlib, sys, zipfile, json
spec = json.loads(sys.argv[1])
name, version = spec["name"], spec["version"]
info = f"{name}-{version}.dist-info"
files = {
    f"{name}/__init__.py": spec["source"],
    f"{info}/METADATA": "Metadata-Version: 2.1\\nName: " + name + "\\nVersion: " + version + "\\n"
        + "".join("Requires-Dist: " + r + "\\n" for r in spec["requires"]),
    f"{info}/WHEEL": "Wheel-Version: 1.0\\nGenerator: sandrun-test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n",
}
record = []
for path, text in files.items():
    data = text.encode()
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    record.append(f"{path},sha256={digest},{len(data)}")
record.append(f"{info}/RECORD,,")
files[f"{info}/RECORD"] = "\\n".join(record) + "\\n"
out = f"{spec['dir']}/{name}-{version}-py3-none-any.whl"
with zipfile.ZipFile(out, "w") as z:
    for path, text in files.items():
        z.writestr(path, text)
print(out)
`

/** Writes `<name>-<version>-py3-none-any.whl` into `dir`; returns its path. */
export function buildWheel({ dir, name, version, source, requires = [] }: BuildWheelParameters): string {
  return execFileSync('/usr/bin/python3', ['-c', script, JSON.stringify({ dir, name, version, source, requires })], { encoding: 'utf8' }).trim()
}
