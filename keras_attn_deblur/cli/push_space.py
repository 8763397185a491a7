"""`attn-deblur push-space`: publish the demo page of a Hub model as a Hugging Face Space."""

from keras_attn_deblur.cli._common import PROG
from keras_attn_deblur.cli._common import add_command


def register(subparsers):
    parser = add_command(
        subparsers,
        "push-space",
        "publish the demo page of a Hub model as a Hugging Face Space",
        """\
        Create or update a Gradio Space that runs the demo page of a model on the
        Hub: app.py (loads the model from the Hub), requirements.txt, a README
        with the Space's front matter, and this package's source, in one commit.
        The model must be on the Hub already (attn-deblur push); its card, if this
        package generated it, gets a "Try it" link to the Space. Log in first
        (`hf auth login`) or pass --token / HF_TOKEN. --folder writes the Space's
        files to a local folder instead, to look at them first.""",
        (
            f"{PROG} push-space my-org/attn-deblur-demo --model my-org/attn-deblur",
            f"{PROG} push-space my-org/attn-deblur-demo --model my-org/attn-deblur --private",
            f"{PROG} push-space my-org/attn-deblur-demo --model my-org/attn-deblur "
            "--folder space/",
        ),
    )
    parser.add_argument("space_id", help="the Space's repo, 'org/name'")
    parser.add_argument(
        "--model", required=True, metavar="ORG/MODEL",
        help="the model's Hub repo, 'org/name' (push it first with attn-deblur push)",
    )  # fmt: skip
    parser.add_argument("--title", default=None, help="the Space's title")
    parser.add_argument("--private", action="store_true", help="create the Space as private")
    parser.add_argument("--token", default=None, help="Hub token (default: HF_TOKEN or the login)")
    parser.add_argument("--commit-message", default=None)
    parser.add_argument(
        "--no-card-link", dest="link_card", action="store_false",
        help="leave the model's card as it is",
    )  # fmt: skip
    parser.add_argument(
        "--folder", default=None,
        help="write the Space's files into this new folder instead of pushing them",
    )  # fmt: skip
    parser.set_defaults(handler=run)


def run(args):
    from keras_attn_deblur import demo

    if args.folder is not None:
        folder = demo.write_space(args.folder, args.model, title=args.title)
        print(f"wrote the Space for '{args.model}' to '{folder}'")
        return 0
    url = demo.push_space(
        args.space_id, args.model, link_card=args.link_card, title=args.title,
        private=args.private, token=args.token, commit_message=args.commit_message,
    )  # fmt: skip
    print(f"pushed the demo of '{args.model}' to the Space '{args.space_id}': {url}")
    return 0
