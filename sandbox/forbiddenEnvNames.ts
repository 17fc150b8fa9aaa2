// Environment variables a job may not set: the sandbox sets them itself, or they change how programs
// are loaded. The manifest validator refuses them and the schema's documentation lists them.

/**
 * Environment names a job may not set. The sandbox sets these itself (determinism: two replicas
 * must see the same PATH, HOME, TZ, locale, hash seed, build epoch), or they make the dynamic
 * loader, a shell or an interpreter load code or configuration from somewhere other than the job's
 * entrypoint (loader, libc and interpreter search paths, startup files, option injection).
 */
export const forbiddenEnvNames: ReadonlySet<string> = new Set([
  // Set by the sandbox.
  'PATH',
  'HOME',
  'PWD',
  'OLDPWD',
  'SHELL',
  'USER',
  'LOGNAME',
  'HOSTNAME',
  'TZ',
  'TZDIR',
  'LANG',
  'LANGUAGE',
  'SOURCE_DATE_EPOCH',
  'PYTHONHASHSEED',
  'TMPDIR',
  // Shell startup and parsing.
  'IFS',
  'ENV',
  'BASH_ENV',
  'CDPATH',
  'GLOBIGNORE',
  'SHELLOPTS',
  'BASHOPTS',
  'PS4',
  'PROMPT_COMMAND',
  // libc.
  'GCONV_PATH',
  'LOCPATH',
  'NLSPATH',
  'HOSTALIASES',
  'RESOLV_HOST_CONF',
  'RES_OPTIONS',
  'LOCALDOMAIN',
  'MALLOC_CHECK_',
  'MALLOC_PERTURB_',
  // Python.
  'PYTHONPATH',
  'PYTHONHOME',
  'PYTHONSTARTUP',
  'PYTHONUSERBASE',
  'PYTHONEXECUTABLE',
  'PYTHONPLATLIBDIR',
  'PYTHONSAFEPATH',
  'PYTHONNOUSERSITE',
  // Node.
  'NODE_OPTIONS',
  'NODE_PATH',
  'NODE_REPL_EXTERNAL_MODULE',
  // Perl.
  'PERL5LIB',
  'PERLLIB',
  'PERL5OPT',
  'PERL5DB',
  // Ruby.
  'RUBYOPT',
  'RUBYLIB',
  'RUBYSHELL',
  'GEM_HOME',
  'GEM_PATH',
  // R.
  'R_HOME',
  'R_LIBS',
  'R_LIBS_USER',
  'R_LIBS_SITE',
  'R_PROFILE',
  'R_PROFILE_USER',
  'R_ENVIRON',
  'R_ENVIRON_USER',
  // PHP.
  'PHPRC',
  'PHP_INI_SCAN_DIR',
  // OpenSSL engines are shared objects loaded at startup.
  'OPENSSL_CONF',
  'OPENSSL_ENGINES',
  'OPENSSL_MODULES',
])

/** Prefixes refused the same way: loader (`LD_`), glibc tunables, locale, bash exported functions. */
export const forbiddenEnvPrefixes: readonly string[] = ['LD_', 'GLIBC_', 'LC_', 'BASH_FUNC_', 'DYLD_', 'SANDRUN_']

export function isForbiddenEnvName(name: string): boolean {
  return forbiddenEnvNames.has(name) || forbiddenEnvPrefixes.some((prefix) => name.startsWith(prefix))
}
