# Homebrew formula for docker-credential-ecr-login, built from the release's
# source tarball (`scripts/package.sh tarball`, a `git archive` of the tag).
#
# url, sha256 and the commit are filled in by the release process:
#   scripts/package.sh formula --url https://…/docker-credential-ecr-login-X.Y.Z.tar.gz
# writes this formula with the three placeholders replaced to
# target/package/docker-credential-ecr-login.rb (see RELEASING.md); that file
# goes to the tap. This template keeps the placeholders.
class DockerCredentialEcrLogin < Formula
  desc "Docker credential helper for Amazon ECR, built for cross-account pulls"
  homepage "@HOMEPAGE@"
  url "@URL@"
  sha256 "@SHA256@"
  license "Apache-2.0"

  depends_on "rust" => :build

  # The same binary name, on purpose: this is a drop-in replacement.
  conflicts_with "docker-credential-helper-ecr",
    because: "both install a `docker-credential-ecr-login` binary"

  def install
    # A tarball has no .git: tell --version which commit it was cut from.
    ENV["ECR_LOGIN_GIT_COMMIT"] = "@COMMIT@"
    system "cargo", "install", *std_cargo_args

    man1.install "packaging/man/docker-credential-ecr-login.1"
    bash_completion.install "packaging/completions/docker-credential-ecr-login.bash" => "docker-credential-ecr-login"
    zsh_completion.install "packaging/completions/_docker-credential-ecr-login"
    fish_completion.install "packaging/completions/docker-credential-ecr-login.fish"
    (pkgshare/"kubernetes").install Dir["packaging/kubernetes/*"]
  end

  def caveats
    <<~EOS
      Route ECR registries to the helper in ~/.docker/config.json:
        docker-credential-ecr-login configure --registry 111111111111.dkr.ecr.us-east-1.amazonaws.com
    EOS
  end

  test do
    assert_match version.to_s, shell_output("#{bin}/docker-credential-ecr-login --version")
    # A host that is not ECR is refused at once, with no AWS call: docker's
    # "not found" answer and exit code 1.
    output = pipe_output("#{bin}/docker-credential-ecr-login get", "registry.example.com\n", 1)
    assert_match "credentials not found in native keychain", output
  end
end
