"""Talks to a gateway exactly as Sandrun's published Python client (integrations/python-client) does:
a requests.Session, a tar.gz of a folder added as '.', the multipart field names and content types it
uses, then /status polling, /logs read as JSON, /outputs read as {"files": [...]}, and one
/download/<id>/<name> per listed file. Prints one JSON line with what it got; exits 1 on any failure.
Usage: python3 sandrunPythonClientCalls.py <gateway url> <folder> <entrypoint>"""
import io
import json
import sys
import tarfile
import time

import requests

url, folder, entrypoint = sys.argv[1].rstrip('/'), sys.argv[2], sys.argv[3]
session = requests.Session()
assert session.get(url).json().get('service') == 'sandrun'

tar_buffer = io.BytesIO()
with tarfile.open(fileobj=tar_buffer, mode='w:gz') as tar:
    tar.add(folder, arcname='.')
tar_buffer.seek(0)
manifest = {'entrypoint': entrypoint, 'interpreter': 'python3', 'timeout': 300, 'memory_mb': 512}
resp = session.post(f"{url}/submit", files={'files': ('job.tar.gz', tar_buffer, 'application/gzip')}, data={'manifest': json.dumps(manifest)})
resp.raise_for_status()
job_id = resp.json()['job_id']

while True:
    resp = session.get(f"{url}/status/{job_id}")
    resp.raise_for_status()
    status = resp.json()
    if status['status'] in ['completed', 'failed']:
        break
    time.sleep(0.2)

resp = session.get(f"{url}/logs/{job_id}")
resp.raise_for_status()
logs = resp.json()
resp = session.get(f"{url}/outputs/{job_id}")
resp.raise_for_status()
files = resp.json().get('files', [])
downloads = {}
for name in files:
    resp = session.get(f"{url}/download/{job_id}/{name}")
    resp.raise_for_status()
    downloads[name] = resp.content.decode()
print(json.dumps({'status': status['status'], 'stdout': logs['stdout'], 'stderr': logs['stderr'], 'files': files, 'downloads': downloads}))
