// The environment templates a job can ask for with `environment` in its manifest: named, versioned
// sets of Debian packages (bookworm) plus the Python modules that prove a template works. Data only;
// detection, installation and the digest input live next to this file.

export type EnvironmentTemplate = {
  name: string
  /** Bumped whenever the package list changes, so a template name never means two package sets. */
  version: number
  description: string
  /** Debian packages installed with `apt-get install --no-install-recommends`; their versions feed the digest. */
  packages: readonly string[]
  /** Modules `python3 -c "import …"` must load once the packages are installed (the smoke check). */
  imports: readonly string[]
  /**
   * Host /etc entries the sandbox's minimal /etc must carry for these packages to start
   * (Debian's matplotlib reads /etc/matplotlibrc).
   */
  etcEntries: readonly string[]
  /** Variables every job of this template gets, set by the service (users cannot set them all). */
  env: Readonly<Record<string, string>>
}

// Matplotlib writes a font cache into its config dir; under HOME=/work that cache would show up
// as an output file, so it goes to the job's scratch /tmp.
const matplotlibEnv = { MPLCONFIGDIR: '/tmp/matplotlib', MPLBACKEND: 'Agg' }

export const environmentTemplates: readonly EnvironmentTemplate[] = [
  {
    name: 'default',
    version: 1,
    description: 'The interpreters and their standard libraries, nothing else.',
    packages: [],
    imports: [],
    etcEntries: [],
    env: {},
  },
  {
    name: 'ml-basic',
    version: 1,
    description: 'Classic machine learning: NumPy, SciPy, pandas, scikit-learn, Matplotlib.',
    packages: ['python3-numpy', 'python3-scipy', 'python3-pandas', 'python3-sklearn', 'python3-matplotlib'],
    imports: ['numpy', 'scipy', 'pandas', 'sklearn', 'matplotlib'],
    etcEntries: ['matplotlibrc'],
    env: matplotlibEnv,
  },
  {
    name: 'vision',
    version: 1,
    description: 'Image processing: OpenCV, Pillow, scikit-image.',
    packages: ['python3-opencv', 'python3-pil', 'python3-skimage'],
    imports: ['cv2', 'PIL', 'skimage'],
    etcEntries: [],
    env: {},
  },
  {
    name: 'nlp',
    version: 1,
    description: 'Text processing: NLTK (code only, no corpora), regex, Snowball stemmers, Unidecode, langdetect.',
    packages: ['python3-nltk', 'python3-regex', 'python3-snowballstemmer', 'python3-unidecode', 'python3-langdetect'],
    imports: ['nltk', 'regex', 'snowballstemmer', 'unidecode', 'langdetect'],
    etcEntries: [],
    env: {},
  },
  {
    name: 'data-science',
    version: 1,
    description: 'Data analysis and plots: NumPy, pandas, Matplotlib, seaborn, openpyxl, tabulate.',
    packages: ['python3-numpy', 'python3-pandas', 'python3-matplotlib', 'python3-seaborn', 'python3-openpyxl', 'python3-tabulate'],
    imports: ['numpy', 'pandas', 'matplotlib', 'seaborn', 'openpyxl', 'tabulate'],
    etcEntries: ['matplotlibrc'],
    env: matplotlibEnv,
  },
  {
    name: 'scientific',
    version: 1,
    description: 'Symbolic maths, graphs and statistics: SymPy, NetworkX, statsmodels (with NumPy, SciPy).',
    packages: ['python3-sympy', 'python3-networkx', 'python3-statsmodels', 'python3-numpy', 'python3-scipy'],
    imports: ['sympy', 'networkx', 'statsmodels', 'numpy', 'scipy'],
    etcEntries: [],
    env: {},
  },
]

/** The template with this name, or undefined. */
export function findTemplate(name: string): EnvironmentTemplate | undefined {
  return environmentTemplates.find((t) => t.name === name)
}
