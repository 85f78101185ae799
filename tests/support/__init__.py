"""What tests share: paths, fakes, media, samples, clients and the golden messages. Test
modules import from here and never from one another."""
