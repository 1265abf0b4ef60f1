/** What is wrong with a profile, and where: the file, the field path inside it, and (when known) the line. */
export class ProfileError extends Error {
  override readonly name = 'ProfileError';
  /** The profile's file, or '<inline>'. */
  readonly file: string;
  /** Field path inside the profile, e.g. `resources[2].wire.type`; for a YAML syntax error, `line 3, column 7`. */
  readonly path: string;
  readonly problem: string;
  /** 1-based line of the offending field in the file, when it can be found. */
  readonly line: number | undefined;

  constructor(file: string, path: string, problem: string, line?: number) {
    super(`${file}: ${path}: ${problem}`);
    this.file = file;
    this.path = path;
    this.problem = problem;
    this.line = line;
  }
}
