SELEC this is never read;
