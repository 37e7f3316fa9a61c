# Copyright (c) mmista contributors. All rights reserved.
"""The LICENSE file is the Apache License 2.0 that setup.cfg declares, and
the wheel ships it."""
import configparser
import hashlib
import os.path as osp

from .utils import REPO_ROOT

#: md5 of the license text as the Apache Software Foundation publishes it
#: (https://www.apache.org/licenses/LICENSE-2.0.txt).
APACHE_2_MD5 = '3b83ef96387f14655fc854ddc3c6bd57'
COPYRIGHT = 'Copyright (c) mmista contributors'


def test_license_is_the_apache_2_text_verbatim():
    with open(osp.join(REPO_ROOT, 'LICENSE'), encoding='utf-8') as file:
        text = file.read()
    first, blank, body = text.split('\n', 2)
    assert first == f'{COPYRIGHT}. All rights reserved.' and blank == ''
    # the appendix's boilerplate notice, filled in
    assert f'   {COPYRIGHT}\n' in body
    published = body.replace(f'   {COPYRIGHT}\n',
                             '   Copyright [yyyy] [name of copyright owner]\n')
    assert hashlib.md5(published.encode()).hexdigest() == APACHE_2_MD5


def test_setup_cfg_declares_and_ships_it():
    setup = configparser.ConfigParser()
    setup.read(osp.join(REPO_ROOT, 'setup.cfg'))
    assert setup['metadata']['license'] == 'Apache-2.0'
    assert setup['metadata']['license_files'].split() == ['LICENSE']
